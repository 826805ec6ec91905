import { exchanges, SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { testBatch } from '../log/testing/batches.js'
import { Authorizer } from '../security/authorization/authorizer.js'
import { PRODUCER_ID_BASE_SPAN, producerIdBase } from '../security/authorization/producer-id-binding.js'
import { refusalCountingMetrics, userWith } from '../security/testing/recording.js'
import { sessionHarness } from './testing/session-harness.js'

const errorOf = (p: Promise<unknown>) =>
  p.then(() => null, (e: unknown) => {
    if (e instanceof SamsaError) return { name: e.errorName, message: e.message }
    throw e
  })
const grants = { read: ['t'], write: ['t'] }

async function twoUsers() {
  const metrics = refusalCountingMetrics()
  const h = await sessionHarness({}, { metrics, authorizer: new Authorizer({ enabled: true }) })
  await h.open({ principal: userWith('root', { admin: true }) }).request(exchanges.createTopic, { name: 't', partitions: 1 })
  const alice = h.open({ principal: userWith('alice', grants) })
  const bob = h.open({ principal: userWith('bob', grants) })
  const produce = (c: typeof alice, producerId: number, producerEpoch: number, baseSequence: number) =>
    c.request(exchanges.produce, { topic: 't', partition: 0, acks: 1, timeoutMs: 1000, batch: testBatch({ producerId, producerEpoch, baseSequence }) })
  return { h, metrics, alice, bob, produce, end: () => h.broker.partition('t', 0).logEndOffset }
}

describe('producer ids bound to the principal that got them (auth on)', () => {
  it('a produce with another principal\'s producer id, epoch and sequence (read from its batches) is refused INVALID_PRODUCER_ID_MAPPING and not appended; the owner\'s next send lands where it should', async () => {
    const { alice, bob, produce, end, metrics } = await twoUsers()
    const id = await alice.request(exchanges.initProducerId, { producerId: -1, producerEpoch: -1 })
    expect(id.producerId).toBeGreaterThanOrEqual(PRODUCER_ID_BASE_SPAN)
    expect(await produce(alice, id.producerId, 0, 0)).toMatchObject({ baseOffset: 0, duplicate: false })
    expect(await errorOf(produce(bob, id.producerId, 0, 1))).toEqual({ name: 'INVALID_PRODUCER_ID_MAPPING', message: `producer id ${id.producerId} was not given to principal "bob"; ask for your own with initProducerId (producerId -1)` })
    // Its epoch + 1 (which would fence alice for good) is refused as well.
    expect(await errorOf(produce(bob, id.producerId, 1, 0))).toMatchObject({ name: 'INVALID_PRODUCER_ID_MAPPING' })
    // The unbound base (as allocated) is nobody's either.
    expect(await errorOf(produce(bob, producerIdBase(id.producerId), 0, 1))).toMatchObject({ name: 'INVALID_PRODUCER_ID_MAPPING' })
    expect(end()).toBe(1)
    expect(metrics.refusals.get('producerId')).toBe(3)
    expect(await produce(alice, id.producerId, 0, 1)).toMatchObject({ baseOffset: 1, duplicate: false })
    expect(bob.socket.closed).toBeNull()
    // bob's own id works for bob.
    const own = await bob.request(exchanges.initProducerId, { producerId: -1, producerEpoch: -1 })
    expect(await produce(bob, own.producerId, 0, 0)).toMatchObject({ baseOffset: 2 })
  })

  it('only the owner can bump its epoch; another principal gets the same answer for an id that exists and one that does not', async () => {
    const { alice, bob } = await twoUsers()
    const id = await alice.request(exchanges.initProducerId, { producerId: -1, producerEpoch: -1 })
    const existing = await errorOf(bob.request(exchanges.initProducerId, { producerId: id.producerId, producerEpoch: 0 }))
    const missing = await errorOf(bob.request(exchanges.initProducerId, { producerId: id.producerId + 5_000, producerEpoch: 0 }))
    expect(existing).toMatchObject({ name: 'INVALID_PRODUCER_ID_MAPPING' })
    expect(missing).toMatchObject({ name: 'INVALID_PRODUCER_ID_MAPPING' })
    expect(missing?.message.replace(String(id.producerId + 5_000), 'ID')).toBe(existing?.message.replace(String(id.producerId), 'ID'))
    // alice's bump is untouched by bob's attempts.
    expect(await alice.request(exchanges.initProducerId, { producerId: id.producerId, producerEpoch: 0 })).toEqual({ producerId: id.producerId, producerEpoch: 1 })
  })

  it('with authorization off ids are unbound, as before', async () => {
    const h = await sessionHarness()
    const c = h.open()
    const a = await c.request(exchanges.initProducerId, { producerId: -1, producerEpoch: -1 })
    expect(a).toEqual({ producerId: 0, producerEpoch: 0 })
    expect(await h.open().request(exchanges.initProducerId, { producerId: 0, producerEpoch: 0 })).toEqual({ producerId: 0, producerEpoch: 1 })
  })
})
