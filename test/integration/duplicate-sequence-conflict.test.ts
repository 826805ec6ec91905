/**
 * A batch that reuses a producer's (id, epoch, sequence) with different bytes is not a duplicate: it is refused
 * with DUPLICATE_SEQUENCE_CONFLICT and nothing is appended, while a true resend (same bytes) still gets the
 * original offset — also after a restart, when the producer state is rebuilt from the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { batchTotalBytes, decodeRecords, encodeRecordBatch, exchanges, readBatchHeader } from '../../packages/shared/src/index.js'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { RawConnection } from '../support/raw-connection.js'

const te = new TextEncoder()
const batch = (producerId: number, producerEpoch: number, baseSequence: number, values: string[]) =>
  encodeRecordBatch({ producerId, producerEpoch, baseSequence, records: values.map((v, i) => ({ key: null, value: te.encode(v), headers: [], timestamp: 1_700_000_000_000 + i })) })

let fx: BrokerFixture

beforeAll(async () => {
  fx = await startBrokerFixture()
})

afterAll(async () => {
  await fx?.dispose()
})

async function produce(c: RawConnection, bytes: Uint8Array) {
  return c.request(exchanges.produce, { topic: 'dup', partition: 0, acks: -1, timeoutMs: 5000, batch: bytes })
}

async function readAll(c: RawConnection): Promise<string[]> {
  const r = await c.request(exchanges.fetch, { topic: 'dup', partition: 0, offset: 0, maxBytes: 1 << 20, maxWaitMs: 0, minBytes: 1 })
  if (!r.ok) throw r.error
  const values: string[] = []
  for (let at = 0; at < r.value.records.length; ) {
    const { header, records } = decodeRecords(r.value.records, at)
    for (const rec of records) values.push(new TextDecoder().decode(rec.value!))
    at += batchTotalBytes(header)
  }
  return values
}

describe('a reused producer sequence with other bytes', () => {
  it('is refused with DUPLICATE_SEQUENCE_CONFLICT from a second connection, before and after a restart', async () => {
    const owner = await RawConnection.open(fx.running.url)
    expect((await owner.request(exchanges.createTopic, { name: 'dup', partitions: 1 })).ok).toBe(true)
    const id = await owner.request(exchanges.initProducerId, { producerId: -1, producerEpoch: -1 })
    if (!id.ok) throw id.error
    const { producerId, producerEpoch } = id.value
    const original = batch(producerId, producerEpoch, 0, ['a0', 'a1'])
    const first = await produce(owner, original.slice())
    expect(first.ok && first.value).toMatchObject({ baseOffset: 0, duplicate: false })

    // Anyone reading the log sees the producer id, epoch and sequence in the batch header.
    const seen = readBatchHeader(original)
    const intruder = await RawConnection.open(fx.running.url)
    const forged = await produce(intruder, batch(seen.producerId, seen.producerEpoch, seen.baseSequence, ['x0', 'x1']))
    expect(forged.ok).toBe(false)
    if (forged.ok) return
    expect(forged.error.errorName).toBe('DUPLICATE_SEQUENCE_CONFLICT')
    expect(forged.error.retriable).toBe(false)
    expect(forged.error.details).toMatchObject({ producerId, baseSequence: 0, baseOffset: 0 })

    const resend = await produce(owner, original.slice())
    expect(resend.ok && resend.value).toMatchObject({ baseOffset: 0, duplicate: true })
    expect(await readAll(owner)).toEqual(['a0', 'a1'])
    owner.close()
    intruder.close()

    await fx.restart()
    const after = await RawConnection.open(fx.running.url)
    const forgedAfter = await produce(after, batch(producerId, producerEpoch, 0, ['y0', 'y1']))
    expect(!forgedAfter.ok && forgedAfter.error.errorName).toBe('DUPLICATE_SEQUENCE_CONFLICT')
    const resendAfter = await produce(after, original.slice())
    expect(resendAfter.ok && resendAfter.value).toMatchObject({ baseOffset: 0, duplicate: true })
    expect(await readAll(after)).toEqual(['a0', 'a1'])
    after.close()
  })
})
