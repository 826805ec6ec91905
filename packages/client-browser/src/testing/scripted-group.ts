/**
 * @module The set-up the group consumer's tests share: a FakeBroker with a topic `t`, a ScriptedCoordinator on it
 * (answers scripted by the test, no assignment rules of its own), a ManualClock, and clients the fixture closes after
 * each test. The test file registers `setUp` and `tearDown` (beforeEach/afterEach); read the fields inside tests (they
 * are new for every test).
 */
import WebSocket from 'ws'
import type { ClientOptions } from '../client.js'
import { createClient, type GroupClient } from '../entries/groups.js'
import { memoryStorage } from '../storage/memory-storage.js'
import { FakeBroker } from './fake-broker.js'
import { ManualClock, seededRandom } from './manual-clock.js'
import { ScriptedCoordinator } from './scripted-coordinator.js'
import { until } from './until.js'

export interface ScriptedGroup {
  readonly broker: FakeBroker
  readonly coord: ScriptedCoordinator
  readonly clock: ManualClock
  readonly clients: GroupClient[]
  /** A group client on the manual clock (heartbeats to the broker off, fast reconnects); closed after the test. */
  client(extra?: Partial<ClientOptions>): GroupClient
  /** A client on the real clock (for producing test records); closed after the test. */
  realClockClient(): GroupClient
  /** Waits until the member handled every heartbeat answer (so its timer for the next one is set). */
  answered(sub: { readonly heartbeatsAnswered: number }): Promise<unknown>
  /** For beforeEach: a fresh broker, coordinator and clock. */
  setUp(): Promise<void>
  /** For afterEach: closes the clients and the broker. */
  tearDown(): Promise<void>
}

export function scriptedGroup(partitions: number, seed: number): ScriptedGroup {
  const clients: GroupClient[] = []
  let current: { broker: FakeBroker; coord: ScriptedCoordinator; clock: ManualClock } | null = null
  const now = () => {
    if (current === null) throw new Error('the scripted group is set up by beforeEach: use it inside a test')
    return current
  }
  const g: ScriptedGroup = {
    get broker() {
      return now().broker
    },
    get coord() {
      return now().coord
    },
    get clock() {
      return now().clock
    },
    clients,
    client: (extra = {}) => {
      const c = createClient({ brokers: g.broker.url, WebSocket, clock: g.clock, random: seededRandom(seed), storage: memoryStorage(), heartbeatIntervalMs: 0, reconnectBackoff: { baseMs: 5, capMs: 20 }, ...extra })
      clients.push(c)
      return c
    },
    realClockClient: () => {
      const c = createClient({ brokers: g.broker.url, WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0 })
      clients.push(c)
      return c
    },
    answered: (sub) => until(() => sub.heartbeatsAnswered === g.coord.heartbeats.length, { what: 'every heartbeat answer handled' }),
    setUp: async () => {
      const broker = await FakeBroker.start()
      current = { broker, coord: new ScriptedCoordinator(broker), clock: new ManualClock() }
      clients.length = 0
      broker.createTopic('t', partitions)
    },
    tearDown: async () => {
      for (const c of clients) await c.close().catch(() => {})
      await now().broker.close()
      current = null
    },
  }
  return g
}
