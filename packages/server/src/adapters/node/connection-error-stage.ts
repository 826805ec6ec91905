/**
 * @module The stages at which a client connection can fail (the `stage` label of samsa_connection_errors_total):
 * http: before or instead of a complete request (Node's clientError); upgrade: during the handshake; socket: on an
 * upgraded socket; websocket: an invalid or oversized frame. Its own file so the metrics load without the ws server.
 */
export const CONNECTION_ERROR_STAGES = ['http', 'upgrade', 'socket', 'websocket'] as const
export type ConnectionErrorStage = (typeof CONNECTION_ERROR_STAGES)[number]
