import { SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { ProducerIdAllocator } from './producer-id-allocator.js'
import { bindProducerId } from '../security/authorization/producer-id-binding.js'

const errorOf = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => (e instanceof SamsaError ? e.errorName : e))

describe('ProducerIdAllocator: an epoch bump needs the current (id, epoch) pair (KIP-360)', () => {
  it('bumps only for the pair the owner holds; a stale, future or foreign pair gets INVALID_PRODUCER_EPOCH', async () => {
    const ids = await ProducerIdAllocator.open(new MemoryLogStorage())
    const a = await ids.init(-1, -1)
    const b = await ids.init(-1, -1)
    expect(a).toEqual({ producerId: a.producerId, producerEpoch: 0 })
    expect(await ids.init(a.producerId, 0)).toEqual({ producerId: a.producerId, producerEpoch: 1 })
    expect(await errorOf(ids.init(a.producerId, 0))).toBe('INVALID_PRODUCER_EPOCH') // the fenced instance cannot take it back
    expect(await errorOf(ids.init(a.producerId, 7))).toBe('INVALID_PRODUCER_EPOCH')
    expect(await errorOf(ids.init(b.producerId, 1))).toBe('INVALID_PRODUCER_EPOCH')
    expect(await ids.init(a.producerId, 1)).toEqual({ producerId: a.producerId, producerEpoch: 2 })
    expect(await ids.init(b.producerId, 0)).toEqual({ producerId: b.producerId, producerEpoch: 1 })
  })

  it('refuses ids it never gave out with UNKNOWN_PRODUCER_ID, and a malformed id with INVALID_REQUEST', async () => {
    const ids = await ProducerIdAllocator.open(new MemoryLogStorage())
    const a = await ids.init(-1, -1)
    expect(await errorOf(ids.init(a.producerId + 1, 0))).toBe('UNKNOWN_PRODUCER_ID')
    expect(await errorOf(ids.init(1_000_000, 0))).toBe('UNKNOWN_PRODUCER_ID')
    expect(await errorOf(ids.init(-2, 0))).toBe('INVALID_REQUEST')
  })

  it('lets one of two concurrent bumps of the same pair win; the other is fenced', async () => {
    const ids = await ProducerIdAllocator.open(new MemoryLogStorage())
    const a = await ids.init(-1, -1)
    const results = await Promise.all([ids.init(a.producerId, 0).catch((e: SamsaError) => e.errorName), ids.init(a.producerId, 0).catch((e: SamsaError) => e.errorName)])
    expect(results).toContainEqual({ producerId: a.producerId, producerEpoch: 1 })
    expect(results).toContain('INVALID_PRODUCER_EPOCH')
  })

  it('keeps a bumped epoch across a restart and a power loss: it is durable before it is answered', async () => {
    const storage = new MemoryLogStorage()
    const ids = await ProducerIdAllocator.open(storage)
    const a = await ids.init(-1, -1)
    await ids.init(a.producerId, 0)
    storage.simulatePowerLoss()
    const reopened = await ProducerIdAllocator.open(storage)
    expect(await errorOf(reopened.init(a.producerId, 0))).toBe('INVALID_PRODUCER_EPOCH')
    expect(await reopened.init(a.producerId, 1)).toEqual({ producerId: a.producerId, producerEpoch: 2 })
    const fresh = await reopened.init(-1, -1)
    expect(fresh.producerId).toBeGreaterThan(a.producerId)
  })

  it('tracks at most maxTrackedEpochs bumped ids: past it the oldest ids expire (UNKNOWN_PRODUCER_ID), and the count is reported', async () => {
    const tracked: number[] = []
    const storage = new MemoryLogStorage()
    const ids = await ProducerIdAllocator.open(storage, { maxTrackedEpochs: 3, tracked: (n) => tracked.push(n) })
    const owned = []
    for (let i = 0; i < 5; i++) owned.push(await ids.init(-1, -1))
    for (const o of owned) await ids.init(o.producerId, 0)
    expect(Math.max(...tracked)).toBe(3)
    expect(await errorOf(ids.init(owned[0]!.producerId, 1))).toBe('UNKNOWN_PRODUCER_ID')
    expect(await errorOf(ids.init(owned[1]!.producerId, 1))).toBe('UNKNOWN_PRODUCER_ID')
    expect(await ids.init(owned[2]!.producerId, 1)).toEqual({ producerId: owned[2]!.producerId, producerEpoch: 2 })
    const reopened = await ProducerIdAllocator.open(storage, { maxTrackedEpochs: 3 })
    expect(await errorOf(reopened.init(owned[1]!.producerId, 1))).toBe('UNKNOWN_PRODUCER_ID')
    expect(await reopened.init(owned[4]!.producerId, 1)).toEqual({ producerId: owned[4]!.producerId, producerEpoch: 2 })
  })
})

describe('ProducerIdAllocator in a cluster: blocks from the controller', () => {
  it('hands out ids only from the blocks its source gives, asking for the next block when one is used up', async () => {
    const storage = new MemoryLogStorage()
    const local = await ProducerIdAllocator.open(storage)
    await local.init(-1, -1) // a local block reserved before the cluster took over is given up
    const blocks = [{ firstProducerId: 5_000, size: 2 }, { firstProducerId: 9_000, size: 2 }]
    let asked = 0
    local.useBlockSource(async () => blocks[asked++]!)
    const got = [await local.init(-1, -1), await local.init(-1, -1), await local.init(-1, -1)].map((r) => r.producerId)
    expect(got).toEqual([5_000, 5_001, 9_000])
    expect(asked).toBe(2)
    expect(await local.init(5_001, 0)).toEqual({ producerId: 5_001, producerEpoch: 1 })
  })

  it('fails an allocation when the controller cannot give a block, and asks again next time', async () => {
    const ids = await ProducerIdAllocator.open(new MemoryLogStorage())
    let fail = true
    ids.useBlockSource(async () => {
      if (fail) throw new SamsaError('NOT_CONTROLLER', 'no controller yet')
      return { firstProducerId: 100, size: 10 }
    })
    expect(await errorOf(ids.init(-1, -1))).toBe('NOT_CONTROLLER')
    fail = false
    expect(await ids.init(-1, -1)).toEqual({ producerId: 100, producerEpoch: 0 })
  })

  it('takes bound ids (a principal\'s tag above the base): allocated by their base, each bound id its own epoch, kept across a restart, expired by base', async () => {
    const storage = new MemoryLogStorage()
    const ids = await ProducerIdAllocator.open(storage, { maxTrackedEpochs: 2 })
    const alice = { kind: 'user' as const, name: 'alice', claims: {} }
    const bob = { kind: 'user' as const, name: 'bob', claims: {} }
    const bases = [await ids.init(-1, -1), await ids.init(-1, -1), await ids.init(-1, -1)].map((r) => r.producerId)
    const a0 = bindProducerId(alice, bases[0]!)
    const b0 = bindProducerId(bob, bases[0]!)
    expect(await ids.init(a0, 0)).toEqual({ producerId: a0, producerEpoch: 1 })
    // Another principal's id on the same base is another producer: alice's bump did not move it.
    expect(await ids.init(b0, 0)).toEqual({ producerId: b0, producerEpoch: 1 })
    expect(await errorOf(ids.init(bindProducerId(alice, bases[2]! + 1), 0))).toBe('UNKNOWN_PRODUCER_ID')
    const reopened = await ProducerIdAllocator.open(storage, { maxTrackedEpochs: 2 })
    expect(await reopened.init(a0, 1)).toEqual({ producerId: a0, producerEpoch: 2 })
    // A third tracked id on a higher base expires the lowest base's ids.
    const a2 = bindProducerId(alice, bases[2]!)
    expect(await reopened.init(a2, 0)).toEqual({ producerId: a2, producerEpoch: 1 })
    expect(await errorOf(reopened.init(a0, 2))).toBe('UNKNOWN_PRODUCER_ID')
  })
})
