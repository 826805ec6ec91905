/**
 * @module The SDK client the CLI commands use (Node's `ws` as the WebSocket): a command connects first, so it fails
 * with one clear line as soon as the broker cannot be reached, and a watchdog fails it when a lost connection stays
 * lost too long, instead of hanging.
 */
import WebSocket from 'ws'
import { SamsaError } from '@samsa/shared'
import { createClient, type SamsaClient } from '@samsa/client-browser'
import { CliError } from './cli-error.js'
import { nativeCrc32c } from '../native-crc32c.js'

/** How long a command waits for its first connection when attempts neither succeed nor fail (a silent host). */
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
    // A broker with authentication: the token from `samsa token create` (or your identity provider).
    ...(process.env['SAMSA_TOKEN'] ? { token: process.env['SAMSA_TOKEN'] } : {}),
  })
}

function brokerList(broker: string): string[] {
  return broker.split(',').map((b) => b.trim()).filter(Boolean)
}

/** One line for a broker the client could not connect to (client.connect() rejected). */
function unreachable(broker: string, error: unknown): CliError {
  if (error instanceof SamsaError && error.errorName === 'SASL_AUTHENTICATION_FAILED') return new CliError(`broker ${broker} refused the token: ${error.message}; set SAMSA_TOKEN to a valid one (samsa token create)`)
  const hint = '; is `samsa start` running there?'
  if (error instanceof SamsaError && (error.errorName === 'CONNECTION_FAILED' || error.errorName === 'CONNECT_TIMEOUT')) return new CliError(`${error.message}${hint}`)
  return new CliError(`cannot reach broker ${broker}: ${CliError.describe(error)}${hint}`)
}

/**
 * Connects first (a refused or unreachable broker fails at once, a silent one after CONNECT_TIMEOUT_MS), then runs
 * fn; rejects with a CliError when the broker cannot be reached or stays unreachable for RECONNECT_TIMEOUT_MS while
 * fn runs, and always closes the client.
 */
export async function withClient<T>(broker: string, fn: (c: SamsaClient) => Promise<T>): Promise<T> {
  const client = cliClient(broker)
  let timer: NodeJS.Timeout | null = null
  let off = () => {}
  try {
    await client.connect({ timeoutMs: CONNECT_TIMEOUT_MS }).catch((error: unknown) => {
      throw unreachable(broker, error)
    })
    let failWith: (e: Error) => void = () => {}
    const failed = new Promise<never>((_, reject) => (failWith = reject))
    off = client.onStatus(({ current }) => {
      if (current.status === 'connected') {
        if (timer) clearTimeout(timer)
        timer = null
      } else if (current.status !== 'closed' && timer === null) {
        const reason = current.reason.message
        timer = setTimeout(() => failWith(new CliError(`lost the connection to broker ${broker} for more than ${RECONNECT_TIMEOUT_MS} ms (${reason})`)), RECONNECT_TIMEOUT_MS)
      }
    })
    return await Promise.race([failed, fn(client)])
  } finally {
    off()
    if (timer) clearTimeout(timer)
    await Promise.race([client.close(), new Promise((r) => setTimeout(r, 2_000).unref())])
  }
}
