import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type ClientOptions, type SamsaClient } from '../client.js'
import { memoryStorage } from '../storage/memory-storage.js'
import type { ClientStorage } from '../storage/stores.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { until } from '../testing/until.js'
import type { Gap } from './subscription.js'

describe('subscription positions across a truncation reset', () => {
  let broker: FakeBroker
  let clients: SamsaClient[] = []
  beforeEach(async () => {
    broker = await FakeBroker.start()
    clients = []
  })
  afterEach(async () => {
    for (const c of clients) await c.close().catch(() => {})
    await broker.close()
  })
  const client = (storage: ClientStorage, extra: Partial<ClientOptions> = {}) => {
    const c = createClient({ brokers: [broker.url], clientId: 'test', WebSocket, reconnectBackoff: { baseMs: 5, capMs: 20 }, storage, heartbeatIntervalMs: 0, ...extra })
    clients.push(c)
    return c
  }
  async function produce(topic: string, values: string[]): Promise<void> {
    const p = client(memoryStorage()).producer({ lingerMs: 0 })
    for (const v of values) await p.send(topic, [{ value: v }])
  }

  it('a record still in the callback when the log is truncated below it does not auto-commit a position above the truncation', async () => {
    const storage = memoryStorage()
    broker.createTopic('t', 1)
    await produce('t', ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9'])
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let inHand = false
    let finished = false
    const gaps: Gap[] = []
    const a = client(storage)
    const sub = a.consumer({ id: 'reader' }).subscribe('t', {
      from: 'stored',
      partitions: [0],
      onRecord: async (r) => {
        if (r.offset === 9) {
          inHand = true
          await gate
          finished = true
        }
      },
    })
    sub.onGap((g) => gaps.push(g))
    await until(() => inHand, { what: 'record 9 in the callback' })
    // The broker loses offsets 5..9 and the connection drops while record 9 is being processed.
    broker.truncateAfter('t', 0, 5)
    broker.dropConnections()
    await until(() => gaps.length === 1, { what: 'the truncation gap' })
    expect(gaps[0]).toMatchObject({ from: 5, to: 10, reason: 'truncation' })
    await until(async () => (await storage.offsets.get('reader', 't', 0))?.offset === 5, { what: 'the stored position moved back to 5' })
    // Now the application finishes record 9 (of the lost history).
    release()
    await until(() => finished, { what: 'the callback to finish record 9' })
    await sub.flush()
    // The stored position must not jump back above the truncation point: new records 5..9 would be skipped after a reload.
    expect((await storage.offsets.get('reader', 't', 0))?.offset).toBe(5)
  })
})
