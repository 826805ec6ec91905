/** @module The SDK client the CLI commands use: Node's `ws` as the WebSocket, one broker list from --broker. */
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '@samsa/client-browser'

export function cliClient(broker: string): SamsaClient {
  const brokers = broker.split(',').map((b) => b.trim()).filter(Boolean)
  return createClient({ brokers, clientId: `samsa-cli-${process.pid}`, WebSocket })
}
