/** @module A Session over a recording SessionSocket, on a real Broker with memory storage and a ManualClock: for unit tests of the connection rules. */
import {
  MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, ApiKeys, decodeResponseFrame, encodeRequestFrame, exchanges, readFrameHeader, type Exchange,
} from '@samsa/shared'
import { Broker } from '../../broker/broker.js'
import { brokerConfig, type BrokerConfig } from '../../broker/broker-config.js'
import { silentLogger, type Logger } from '../../clock.js'
import { MemoryLogStorage } from '../../log/memory-log-storage.js'
import { ManualClock } from '../../log/testing/manual-clock.js'
import type { BrokerMetrics } from '../../observability/broker-metrics.js'
import type { Authorizer } from '../../security/authorization/authorizer.js'
import type { Principal } from '../../security/principal.js'
import { Session } from '../session.js'
import type { SessionSocket } from '../session-socket.js'

export class RecordingSocket implements SessionSocket {
  readonly sent: Uint8Array[] = []
  closed: { code: number; reason: string } | null = null
  buffered = 0
  paused = false
  readonly remoteAddress?: string
  constructor(remoteAddress?: string) {
    if (remoteAddress !== undefined) this.remoteAddress = remoteAddress
  }
  send(frame: Uint8Array): void {
    this.sent.push(frame)
    this.buffered += frame.length
  }
  close(code: number, reason: string): void {
    this.closed ??= { code, reason }
  }
  bufferedAmount(): number {
    return this.buffered
  }
  pauseReading(): void {
    this.paused = true
  }
  resumeReading(): void {
    this.paused = false
  }
}

export interface Harness {
  readonly broker: Broker
  readonly clock: ManualClock
  /** A connection after hello from `remoteAddress` (none: an address the runtime did not report); `principal`: who it speaks for (what authentication would set). */
  open(opts?: { remoteAddress?: string; principal?: Principal }): { session: Session; socket: RecordingSocket; request<Req, Res>(exchange: Exchange<Req, Res>, req: Req): Promise<Res> }
}

export async function sessionHarness(overrides: Partial<Omit<BrokerConfig, 'log'>> = {}, deps: { logger?: Logger; metrics?: BrokerMetrics; authorizer?: Authorizer } = {}): Promise<Harness> {
  const clock = new ManualClock()
  const broker = await Broker.start(brokerConfig(overrides), { storage: new MemoryLogStorage(), clock, logger: deps.logger ?? silentLogger, ...(deps.metrics && { metrics: deps.metrics }), ...(deps.authorizer && { authorizer: deps.authorizer }) })
  let correlationId = 1
  return {
    broker,
    clock,
    open(opts = {}) {
      const socket = new RecordingSocket(opts.remoteAddress)
      const principal = opts.principal
      const session = new Session(broker, socket)
      let version = 0
      const request = async <Req, Res>(exchange: Exchange<Req, Res>, req: Req): Promise<Res> => {
        const id = correlationId++
        session.onFrame(encodeRequestFrame(exchange, version, id, req))
        for (let i = 0; i < 200; i++) {
          const frame = socket.sent.find((f) => readFrameHeader(f).apiKey !== ApiKeys.PUSH && readFrameHeader(f).correlationId === id)
          if (frame) {
            const r = decodeResponseFrame(frame)
            if (r.error) throw r.error
            return exchange.decodeResponse(r.body)
          }
          await new Promise((r) => setTimeout(r, 0))
        }
        throw new Error(`no response to ${exchange.name} (correlation id ${id})`)
      }
      const hello = { clientId: 'harness', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION }
      session.onFrame(encodeRequestFrame(exchanges.hello, MIN_PROTOCOL_VERSION, correlationId++, hello))
      version = session.version
      // After hello, which sets the principal authentication gives (ANONYMOUS with it off).
      if (principal) session.principal = principal
      return { session, socket, request }
    },
  }
}
