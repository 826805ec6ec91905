/**
 * The SDK's idempotent producer against the real broker core in-process (test/support/core-broker.ts: Broker +
 * Session over MemoryLogStorage behind a ws server): resends after lost answers and dropped connections land once
 * and in order, batches pipelined behind a failed one are re-sequenced, and a failed batch's sequence is reused.
 * The duplicate and sequence answers are the broker's own (log/producer-state.ts); the fixture only loses answers,
 * cuts connections and injects errors.
 */
import { ApiKeys } from '@samsa/shared'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '../../packages/client-browser/src/client.js'
import { AbortError } from '../../packages/client-browser/src/client-errors.js'
import { until } from '../../packages/client-browser/src/testing/until.js'
import { CoreBroker } from '../support/core-broker.js'

describe('the idempotent producer against the real broker core', () => {
  let broker: CoreBroker
  let clients: SamsaClient[] = []
  const start = async () => (broker = await CoreBroker.start())
  const client = () => {
    const c = createClient({ brokers: [broker.url], clientId: 'test', WebSocket, reconnectBackoff: { baseMs: 5, capMs: 20 } })
    clients.push(c)
    return c
  }
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()))
    await broker.close()
  })

  it('resends the same batch with the same sequence after a lost response; the broker dedupes', async () => {
    await start()
    const c = client()
    await c.admin.createTopic('t', { partitions: 1 })
    const producer = c.producer({ lingerMs: 0 })
    await producer.send('t', [{ value: 'first' }])
    broker.dropAfterAppend = 1
    const metas = await producer.send('t', [{ value: 'a' }, { value: 'b' }])
    expect(metas.map((m) => m.offset)).toEqual([1, 2])
    expect(await broker.values('t', 0)).toEqual(['first', 'a', 'b'])
    const produces = broker.requests.filter((r) => r.apiKey === 'PRODUCE').map((r) => (r.body as { batch: Uint8Array }).batch)
    expect(produces).toHaveLength(3)
    expect(Buffer.from(produces[1]!).equals(Buffer.from(produces[2]!))).toBe(true)
    expect(broker.connectionCount).toBe(2)
  })

  it('keeps per-partition order across a dropped connection with several batches in flight', async () => {
    await start()
    const c = client()
    await c.admin.createTopic('t', { partitions: 1 })
    const producer = c.producer({ lingerMs: 0, maxInFlight: 5 })
    await producer.send('t', [{ value: 'warm-up' }])
    broker.dropAfterAppend = 1
    const sends = Array.from({ length: 10 }, (_, i) => producer.send('t', [{ value: `m${i}` }]))
    const metas = (await Promise.all(sends)).flat()
    expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
    expect(await broker.values('t', 0)).toEqual(['warm-up', ...Array.from({ length: 10 }, (_, i) => `m${i}`)])
  })

  it('after a fatal error on one batch, re-sequences the pipelined batches behind it so they still land in order', async () => {
    await start()
    const c = client()
    await c.admin.createTopic('t', { partitions: 1 })
    // maxBatchBytes 75: one record per batch (61-byte header + ~10-byte record), so the four sends are four pipelined batches.
    const producer = c.producer({ lingerMs: 0, maxInFlight: 5, maxBatchBytes: 75 })
    await producer.send('t', [{ value: 'warm-up' }])
    broker.failNext(ApiKeys.PRODUCE, 'INVALID_RECORD')
    const sends = Array.from({ length: 4 }, (_, i) => producer.send('t', [{ value: `m${i}` }]))
    void producer.flush() // closes the last batch without waiting for linger: all four are in flight before any response
    const results = await Promise.allSettled(sends)
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { errorName: 'INVALID_RECORD' } })
    expect(results.slice(1).map((r) => (r.status === 'fulfilled' ? r.value[0]!.offset : `${r.reason.errorName}: ${r.reason.message}`))).toEqual([1, 2, 3])
    expect(await broker.values('t', 0)).toEqual(['warm-up', 'm1', 'm2', 'm3'])
    // m1..m3 were in flight behind the failed batch: rejected out of order once, then resent re-sequenced.
    expect(broker.requests.filter((r) => r.apiKey === 'PRODUCE')).toHaveLength(1 + 4 + 3)
  })

  it('maps broker errors to SamsaError: retriable ones are retried, others reject send()', async () => {
    await start()
    const c = client()
    await c.admin.createTopic('t', { partitions: 1 })
    const producer = c.producer({ lingerMs: 0 })
    broker.failNext(ApiKeys.PRODUCE, 'NOT_ENOUGH_REPLICAS', 2)
    expect((await producer.send('t', [{ value: 'retried' }]))[0]!.offset).toBe(0)
    broker.failNext(ApiKeys.PRODUCE, 'TOPIC_AUTHORIZATION_FAILED')
    await expect(producer.send('t', [{ value: 'denied' }])).rejects.toMatchObject({ errorName: 'TOPIC_AUTHORIZATION_FAILED', retriable: false })
    // The failed batch's sequence is reused: the next batch is accepted in order (a gap would be OUT_OF_ORDER_SEQUENCE_NUMBER).
    expect((await producer.send('t', [{ value: 'after' }]))[0]!.offset).toBe(1)
    await expect(producer.send('missing', [{ value: 'x' }])).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' })
    await expect(c.admin.createTopic('bad name!')).rejects.toMatchObject({ errorName: 'INVALID_TOPIC_EXCEPTION' })
  })


  it('a send aborted after its batch was sent rejects at once but its records are still delivered, once', async () => {
    await start()
    await broker.createTopic('t', 1)
    const producer = client().producer()
    await producer.send('t', [{ value: 'warm-up' }])
    broker.answersLost.add(ApiKeys.PRODUCE) // the batch is appended; its answer never comes
    const controller = new AbortController()
    const sent = producer.send('t', [{ value: 'on its way' }], { signal: controller.signal })
    await until(() => producer.pending().batches === 1, { what: 'the batch in the outbox' })
    controller.abort()
    await expect(sent).rejects.toBeInstanceOf(AbortError)
    await expect(sent).rejects.toMatchObject({ name: 'AbortError', recordsDropped: false })
    expect(producer.pending()).toEqual({ batches: 1, records: 1 })
    // A flush aborted while it waits rejects too; the batch keeps going.
    const flushAbort = new AbortController()
    const flushing = producer.flush({ signal: flushAbort.signal })
    flushAbort.abort()
    await expect(flushing).rejects.toMatchObject({ name: 'AbortError' })
    await until(() => broker.logEndOffset('t', 0) === 2, { what: 'the batch appended' })
    broker.answersLost.delete(ApiKeys.PRODUCE)
    broker.dropConnections() // the batch is resent with the same sequence; the broker answers it as a duplicate
    await producer.flush()
    expect(producer.pending()).toEqual({ batches: 0, records: 0 })
    expect(await broker.values('t', 0)).toEqual(['warm-up', 'on its way'])
    // The resend was answered as a duplicate (acknowledged), so the sequence goes on: the next send lands after it.
    expect(await producer.send('t', [{ value: 'next' }])).toEqual([{ topic: 't', partition: 0, offset: 2 }])
    expect(await broker.values('t', 0)).toEqual(['warm-up', 'on its way', 'next'])
  })
})
