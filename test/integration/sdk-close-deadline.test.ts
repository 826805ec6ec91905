/**
 * client.close() bounds its producer flush: against the real broker core (test/support/core-broker.ts) that stops
 * answering produce requests while the connection stays up, close gives up after `timeoutMs` on the client's
 * (manual) clock, resolves with what was left unacknowledged, and leaves those batches in the outbox; the next page
 * life resends them and the broker deduplicates them.
 */
import 'fake-indexeddb/auto'
import { ApiKeys } from '@samsa/shared'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { DEFAULT_CLOSE_TIMEOUT_MS, createClient, type ClientOptions, type SamsaClient } from '../../packages/client-browser/src/client.js'
import type { Clock, Logger } from '../../packages/client-browser/src/ports.js'
import type { RecordMetadata } from '../../packages/client-browser/src/producer/producer.js'
import { inProcessLockManager } from '../../packages/client-browser/src/storage/identity-lock.js'
import { indexedDbStorage } from '../../packages/client-browser/src/storage/indexeddb-storage.js'
import type { ClientStorage } from '../../packages/client-browser/src/storage/stores.js'
import { ManualClock } from '../../packages/client-browser/src/testing/manual-clock.js'
import { until } from '../../packages/client-browser/src/testing/until.js'
import { CoreBroker } from '../support/core-broker.js'

/** A logger that keeps its warnings. */
function recordingLogger(warnings: { fields: object; message: string }[]): Logger {
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (fields: object, message: string) => void warnings.push({ fields, message }),
    error() {},
    child: () => logger,
  }
  return logger
}

/** Settles within `ms` of real time, or rejects naming what did not. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)))
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}

describe('client.close() with a broker that never answers', () => {
  let broker: CoreBroker
  let clients: SamsaClient[] = []
  let storages: ClientStorage[] = []
  beforeEach(async () => {
    clients = []
    storages = []
    broker = await CoreBroker.start()
    await broker.createTopic('t', 1)
  })
  afterEach(async () => {
    await Promise.allSettled(clients.map((c) => within(c.close({ timeoutMs: 0 }), 5_000, 'close()')))
    await Promise.allSettled(storages.map((s) => s.close()))
    await broker.close()
  })

  const client = (factory: IDBFactory, extra: Partial<ClientOptions> = {}) => {
    const storage = indexedDbStorage({ indexedDB: factory })
    storages.push(storage)
    const c = createClient({ brokers: [broker.url], clientId: 'test', WebSocket, heartbeatIntervalMs: 0, networkEvents: null, storage, locks: inProcessLockManager(), ...extra })
    clients.push(c)
    return { c, storage }
  }

  it('gives up the flush after the default timeout, reports what was left, and the next page life delivers it once', async () => {
    const factory = new IDBFactory()
    // Time moves only when the test says; lingerMs 0 batches on the next turn of the real event loop.
    const time = new ManualClock()
    const clock: Clock = { now: () => time.now(), setTimeout: (fn, ms) => time.setTimeout(fn, ms), clearTimeout: (t) => time.clearTimeout(t), setImmediate: (fn) => void setImmediate(fn) }
    const warnings: { fields: object; message: string }[] = []
    const { c, storage } = client(factory, { clock, logger: recordingLogger(warnings) })
    const p = c.producer({ id: 'w', lingerMs: 0 })
    await p.ready
    await p.send('t', [{ value: 'acked' }])
    broker.answersLost.add(ApiKeys.PRODUCE) // handled and appended, but never answered: the connection stays up
    const lost = p.send('t', [{ value: 'a' }, { value: 'b' }])
    lost.catch(() => {})
    await until(() => broker.logEndOffset('t', 0) === 3, { what: 'the batch appended by the broker' })
    expect(await storage.outbox.list('w#0')).toHaveLength(1)

    let settled = false
    const closing = c.close()
    void closing.then(() => (settled = true))
    time.advance(DEFAULT_CLOSE_TIMEOUT_MS - 1)
    // A round trip over the connection close is still flushing on: by its answer, close has not given up.
    await c.admin.describeTopic('t')
    expect(settled).toBe(false)
    expect(p.pending()).toEqual({ batches: 1, records: 2 })
    time.advance(1)
    expect(await within(closing, 5_000, 'close() after its timeout')).toEqual({ unacknowledged: { batches: 1, records: 2 } })
    await expect(lost).rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION' })
    expect(warnings.map((w) => w.fields)).toContainEqual({ batches: 1, records: 2, timeoutMs: DEFAULT_CLOSE_TIMEOUT_MS })
    // Idempotent: a later call resolves with the same report.
    expect(await c.close()).toEqual({ unacknowledged: { batches: 1, records: 2 } })

    // The next page life resends the outbox with the same sequence: the broker answers it as a duplicate.
    broker.answersLost.delete(ApiKeys.PRODUCE)
    const next = client(factory).c.producer({ id: 'w', lingerMs: 0 })
    const recovered: RecordMetadata[][] = []
    next.onRecovered((metas) => recovered.push(metas))
    await until(() => recovered.length === 1, { what: 'the outbox of the closed page life acknowledged' })
    expect(recovered[0]).toEqual([{ topic: 't', partition: 0, offset: 1 }, { topic: 't', partition: 0, offset: 2 }])
    expect(await broker.values('t', 0)).toEqual(['acked', 'a', 'b'])
  })

  it('closes without waiting with timeoutMs 0, and reports nothing left after a flush that completes', async () => {
    const factory = new IDBFactory()
    const { c } = client(factory)
    const p = c.producer({ id: 'z', lingerMs: 0 })
    await p.send('t', [{ value: 'acked' }])
    broker.answersLost.add(ApiKeys.PRODUCE)
    p.send('t', [{ value: 'x' }]).catch(() => {})
    await until(() => p.pending().batches === 1, { what: 'the batch sent' })
    expect(await within(c.close({ timeoutMs: 0 }), 5_000, 'close({ timeoutMs: 0 })')).toEqual({ unacknowledged: { batches: 1, records: 1 } })

    broker.answersLost.delete(ApiKeys.PRODUCE)
    const { c: c2 } = client(factory)
    await c2.producer({ id: 'z', lingerMs: 0 }).send('t', [{ value: 'y' }])
    expect(await within(c2.close({ timeoutMs: 60_000 }), 5_000, 'close() with everything acknowledged')).toEqual({ unacknowledged: { batches: 0, records: 0 } })
    expect(await broker.values('t', 0)).toEqual(['acked', 'x', 'y'])
  })

  it('rejects a bad timeoutMs with a TypeError and stays open', async () => {
    const { c } = client(new IDBFactory())
    await expect(c.close({ timeoutMs: -1 })).rejects.toThrow(new TypeError('close(options): options.timeoutMs must be an integer in 0..2147483647, got the number -1'))
    await expect(c.close({ timeout: 5 } as never)).rejects.toThrow(/close\(options\): options has an unknown option "timeout"; the options are timeoutMs/)
    await c.admin.createTopic('still-open', { partitions: 1 })
  })
})
