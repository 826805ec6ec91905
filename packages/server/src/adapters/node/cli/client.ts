/**
 * @module The SDK client the CLI commands use (Node's `ws` as the WebSocket) and a connection watchdog: a command
 * fails with one clear line when the broker cannot be reached, or stays unreachable too long, instead of hanging.
 */
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '@samsa/client-browser'
import { CliError } from './cli-error.js'
import { nativeCrc32c } from '../native-crc32c.js'

/** How long a command waits for its first connection. */
export const CONNECT_TIMEOUT_MS = 5_000
/** How long a running command tolerates a lost connection (a broker restart) before failing. */
export const RECONNECT_TIMEOUT_MS = 15_000

export function cliClient(broker: string): SamsaClient {
  const crc32c = nativeCrc32c()
  return createClient({
    brokers: brokerList(broker),
    clientId: `samsa-cli-${process.pid}`,
    WebSocket,
    heartbeatIntervalMs: 5_000,
    heartbeatTimeoutMs: 5_000,
    ...(crc32c ? { crc32c } : {}),
  })
}

function brokerList(broker: string): string[] {
  return broker.split(',').map((b) => b.trim()).filter(Boolean)
}

/** Runs fn (its first request opens the connection); rejects with a CliError when the broker is unreachable, and always closes the client. */
export async function withClient<T>(broker: string, fn: (c: SamsaClient) => Promise<T>): Promise<T> {
  const client = cliClient(broker)
  let timer: NodeJS.Timeout | null = null
  let failWith: (e: Error) => void = () => {}
  const failed = new Promise<never>((_, reject) => (failWith = reject))
  let everConnected = false
  const arm = (reason: string) => {
    if (timer) return
    const ms = everConnected ? RECONNECT_TIMEOUT_MS : CONNECT_TIMEOUT_MS
    timer = setTimeout(() => {
      failWith(new CliError(everConnected
        ? `lost the connection to broker ${broker} for more than ${ms} ms (${reason})`
        : `cannot reach broker ${broker} within ${ms} ms (${reason}); is \`samsa start\` running there?`))
    }, ms)
  }
  const onState = (status: string, reason: string) => {
    if (status === 'connected') {
      everConnected = true
      if (timer) clearTimeout(timer)
      timer = null
    } else if (status !== 'closed') arm(reason)
  }
  const off = client.onStatus((change) => onState(change.current.status, change.current.reason.message))
  onState(client.state.status, client.state.reason.message)
  try {
    return await Promise.race([failed, fn(client)])
  } finally {
    off()
    if (timer) clearTimeout(timer)
    await Promise.race([client.close(), new Promise((r) => setTimeout(r, 2_000).unref())])
  }
}
