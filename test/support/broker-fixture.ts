/** @module Starts a real broker in-process on port 0 with a fresh data directory, and records its log lines. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../../packages/server/src/adapters/node/index.js'
import type { Logger } from '../../packages/server/src/clock.js'

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error'
  msg: string | undefined
  fields: Record<string, unknown>
}

export function recordingLogger(lines: LogLine[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: LogLine['level']) => (fields: object, msg?: string) => void lines.push({ level, msg, fields: { ...bindings, ...fields } })
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => recordingLogger(lines, { ...bindings, ...b }) }
}

export interface BrokerFixture {
  running: RunningBroker
  dataDir: string
  logs: LogLine[]
  /** Stops the broker (clean shutdown) and starts it again on the same data directory and the same port, so clients can reconnect. */
  restart(): Promise<RunningBroker>
  stop(): Promise<void>
  /** Stops the broker and removes its data directory. */
  dispose(): Promise<void>
}

export async function startBrokerFixture(config: StartBrokerOptions['config'] = {}, dataDir?: string): Promise<BrokerFixture> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'samsa-it-')))
  const logs: LogLine[] = []
  const start = (port = 0) => startBroker({ port, dataDir: dir, logger: recordingLogger(logs), config })
  const fixture: BrokerFixture = {
    running: await start(),
    dataDir: dir,
    logs,
    async restart() {
      const port = fixture.running.port
      await fixture.running.close()
      fixture.running = await start(port)
      return fixture.running
    },
    async stop() {
      await fixture.running.close()
    },
    async dispose() {
      await fixture.running.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
  return fixture
}
