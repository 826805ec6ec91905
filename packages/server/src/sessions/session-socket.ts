/** @module SessionSocket: what a Session needs from a WebSocket, whatever the runtime. */

export interface SessionSocket {
  send(frame: Uint8Array): void
  close(code: number, reason: string): void
  /** Bytes queued for sending and not yet handed to the OS. */
  bufferedAmount(): number
  /** Stops reading frames from the client (backpressure while the connection's output is over budget); idempotent. */
  pauseReading(): void
  resumeReading(): void
  /** The client's IP address as the runtime saw it (quotas and the audit log key on it); undefined when unknown. */
  readonly remoteAddress?: string
}
