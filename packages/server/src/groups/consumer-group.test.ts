import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SamsaError, type ConsumerGroupHeartbeatRequest, type TopicPartitions } from '@samsa/shared'
import { ManualClock } from '../log/testing/manual-clock.js'
import { ConsumerGroup } from './consumer-group.js'
import { decodeGroupRecord, encodeGroupKey, encodeGroupValue } from './group-records.js'
import { toPartitionSet } from './partition-set.js'

const settings = { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxMembers: 4 }
const topics: Record<string, number> = { orders: 6 }

function setup() {
  const clock = new ManualClock()
  const group = new ConsumerGroup('g', settings)
  const ctx = () => ({ nowMs: clock.monotonicMs(), clientHost: '127.0.0.1', partitionCount: (t: string) => topics[t] ?? null })
  const hb = (memberId: string, memberEpoch: number, owned: readonly TopicPartitions[] | null, extra: Partial<ConsumerGroupHeartbeatRequest> = {}) =>
    group.heartbeat({ groupId: 'g', memberId, memberEpoch, instanceId: null, rebalanceTimeoutMs: 5_000, subscribedTopicNames: memberEpoch === 0 ? ['orders'] : null, serverAssignor: null, ownedPartitions: owned, ...extra }, ctx())
  return { clock, group, hb, ctx }
}

const count = (a: readonly TopicPartitions[] | null) => (a ?? []).reduce((n, t) => n + t.partitions.length, 0)

/** A member that follows the protocol: owns what it was last told. */
function join(hb: ReturnType<typeof setup>['hb'], id: string, extra: Partial<ConsumerGroupHeartbeatRequest> = {}) {
  const r = hb(id, 0, [], extra)
  return { id, epoch: r.memberEpoch, owned: r.assignment ?? [] }
}

describe('ConsumerGroup (KIP-848)', () => {
  it('a first member gets every partition at epoch 1', () => {
    const { hb } = setup()
    const a = join(hb, 'a')
    expect(a.epoch).toBe(1)
    expect(count(a.owned)).toBe(6)
  })

  it('a second member gets its partitions only after the first gave them up, then both are at the new epoch', () => {
    const { hb, group } = setup()
    const a = join(hb, 'a')
    const b = join(hb, 'b')
    expect(group.groupEpoch).toBe(2)
    expect(b.epoch).toBe(2)
    expect(count(b.owned)).toBe(0) // a still owns them
    const a1 = hb('a', a.epoch, a.owned)
    expect(a1.memberEpoch).toBe(1) // revoking: its epoch stays until it acknowledges
    expect(count(a1.assignment)).toBe(3)
    expect(group.state).toBe('reconciling')
    const b1 = hb('b', b.epoch, [])
    expect(count(b1.assignment)).toBe(0) // still not released
    const a2 = hb('a', 1, a1.assignment)
    expect(a2.memberEpoch).toBe(2)
    const b2 = hb('b', 2, [])
    expect(count(b2.assignment)).toBe(3)
    expect(group.state).toBe('stable')
    const all = [...toPartitionSet(a2.assignment!), ...toPartitionSet(b2.assignment!)]
    expect(new Set(all).size).toBe(6)
  })

  it('a leave moves the leaver\'s partitions to the others', () => {
    const { hb } = setup()
    const a = join(hb, 'a')
    const b = join(hb, 'b')
    const a1 = hb('a', a.epoch, a.owned)
    hb('a', 1, a1.assignment)
    hb('b', b.epoch, [])
    expect(hb('b', 2, []).memberEpoch).toBe(2)
    expect(hb('b', 2, null, { memberEpoch: -1 }).memberEpoch).toBe(-1)
    const a3 = hb('a', 2, a1.assignment)
    expect(a3.memberEpoch).toBe(3)
    expect(count(a3.assignment)).toBe(6)
  })

  it('fences a zombie: a newer epoch is FENCED, an older one STALE for commits and FENCED for heartbeats; an unknown member UNKNOWN_MEMBER_ID', () => {
    const { hb, group } = setup()
    const a = join(hb, 'a')
    join(hb, 'b')
    const a1 = hb('a', a.epoch, a.owned)
    hb('a', 1, a1.assignment) // now at epoch 2
    expect(() => group.validateMemberEpoch('a', 1, true)).toThrow(expect.objectContaining({ code: 113 }))
    expect(() => group.validateMemberEpoch('a', 3, true)).toThrow(expect.objectContaining({ code: 110 }))
    expect(() => group.validateMemberEpoch('zz', 2, true)).toThrow(expect.objectContaining({ code: 25 }))
    expect(() => group.validateMemberEpoch('a', 2, true)).not.toThrow()
    expect(() => hb('a', 1, a.owned)).toThrow(expect.objectContaining({ code: 110 })) // owns more than it has now
    expect(() => hb('zz', 5, [])).toThrow(expect.objectContaining({ code: 25 }))
  })

  it('reads a null ownedPartitions as "unchanged since the last request": a revoked partition the member never reported owning needs no acknowledgement', () => {
    const { hb, group } = setup()
    const a = hb('a', 0, []) // owns nothing yet; told it may own all 6
    expect(count(a.assignment)).toBe(6)
    join(hb, 'b') // half of them move to b before a reported owning any
    // The answer to a request in flight may still be on its way: the revocation is acknowledged by the next request,
    // whose null ownedPartitions says a still owns what it said last (nothing), not by this one.
    const a1 = hb('a', 1, null)
    expect(a1.memberEpoch).toBe(1)
    expect(count(a1.assignment)).toBe(3)
    const a2 = hb('a', 1, null)
    expect(a2.memberEpoch).toBe(2)
    expect(count(hb('b', 2, null).assignment)).toBe(3)
    expect(group.state).toBe('stable')
  })

  it('accepts the previous epoch once when the answer that moved the member was lost', () => {
    const { hb } = setup()
    const a = join(hb, 'a')
    join(hb, 'b')
    const a1 = hb('a', a.epoch, a.owned)
    hb('a', 1, a1.assignment) // answer (epoch 2) lost
    expect(hb('a', 1, a1.assignment).memberEpoch).toBe(2)
  })

  it('refuses admin commits while the group has members (NON_EMPTY_GROUP), accepts them when empty', () => {
    const { hb, group } = setup()
    join(hb, 'a')
    expect(() => group.validateMemberEpoch('', -1, true)).toThrow(expect.objectContaining({ code: 68 }))
    expect(() => group.validateMemberEpoch('', -1, false)).not.toThrow()
    hb('a', 1, null, { memberEpoch: -1 })
    expect(() => group.validateMemberEpoch('', -1, true)).not.toThrow()
  })

  it('removes a member after its session timeout and frees its partitions', () => {
    const { hb, group, clock } = setup()
    const a = join(hb, 'a')
    const b = join(hb, 'b')
    clock.advance(6_000)
    hb('b', b.epoch, [])
    clock.advance(5_000)
    expect(group.expire(clock.monotonicMs())).toEqual(['a'])
    const b1 = hb('b', b.epoch, [])
    expect(b1.memberEpoch).toBe(3)
    expect(count(b1.assignment)).toBe(6)
    expect(() => hb('a', a.epoch, a.owned)).toThrow(expect.objectContaining({ code: 25 }))
  })

  it('removes a member that does not give up revoked partitions within its rebalance timeout', () => {
    const { hb, group, clock } = setup()
    const a = join(hb, 'a')
    const b = join(hb, 'b')
    hb('a', a.epoch, a.owned) // told to revoke 3 at t=0
    clock.advance(4_000)
    hb('a', a.epoch, a.owned) // still owns them
    hb('b', b.epoch, [])
    expect(group.expire(clock.monotonicMs())).toEqual([])
    clock.advance(1_000)
    expect(group.expire(clock.monotonicMs())).toEqual(['a'])
    expect(count(hb('b', b.epoch, []).assignment)).toBe(6)
  })

  it('a static member that leaves with −2 and rejoins under a new member id gets its partitions and epoch back without a rebalance', () => {
    const { hb, group } = setup()
    const a = join(hb, 'a', { instanceId: 'tab-1' })
    const b = join(hb, 'b')
    const a1 = hb('a', a.epoch, a.owned, { instanceId: 'tab-1' })
    const a2 = hb('a', 1, a1.assignment, { instanceId: 'tab-1' })
    hb('b', b.epoch, [])
    const epoch = group.groupEpoch
    expect(hb('a', a2.memberEpoch, null, { memberEpoch: -2, instanceId: 'tab-1' }).memberEpoch).toBe(-2)
    expect(() => join(hb, 'c', { instanceId: 'tab-1' })).not.toThrow()
    expect(group.groupEpoch).toBe(epoch)
    expect(group.members.has('a')).toBe(false)
    const back = hb('c', 0, [], { instanceId: 'tab-1' })
    expect(back.memberEpoch).toBe(a2.memberEpoch)
    expect(back.assignment).toEqual(a2.assignment)
  })

  it('refuses a static join while a live member holds the instance id (UNRELEASED_INSTANCE_ID), and a heartbeat naming another instance id (FENCED_INSTANCE_ID)', () => {
    const { hb } = setup()
    const a = join(hb, 'a', { instanceId: 'svc-1' })
    expect(() => join(hb, 'b', { instanceId: 'svc-1' })).toThrow(expect.objectContaining({ code: 111 }))
    expect(() => hb('a', a.epoch, a.owned, { instanceId: 'svc-2' })).toThrow(expect.objectContaining({ code: 82 }))
  })

  it('refuses a member beyond maxMembers (GROUP_MAX_SIZE_REACHED) and an unknown assignor (UNSUPPORTED_ASSIGNOR)', () => {
    const { hb } = setup()
    for (const id of ['a', 'b', 'c', 'd']) join(hb, id)
    expect(() => join(hb, 'e')).toThrow(expect.objectContaining({ code: 81 }))
    expect(() => join(hb, 'f', { serverAssignor: 'sticky' })).toThrow(expect.objectContaining({ code: 112 }))
  })

  it('rebuilds the same group from its drained records (what __consumer_offsets holds)', () => {
    const { hb, group, ctx } = setup()
    const a = join(hb, 'a', { instanceId: 'x' })
    const b = join(hb, 'b')
    const a1 = hb('a', a.epoch, a.owned)
    hb('b', b.epoch, [])
    group.offsets.replay(group.offsets.commitRecord('orders', 2, { offset: 42, leaderEpoch: 3, metadata: 'm', commitTimestampMs: 7 }))
    const records = [...group.drainChanges(), group.offsets.commitRecord('orders', 2, { offset: 42, leaderEpoch: 3, metadata: 'm', commitTimestampMs: 7 })]
    const copy = new ConsumerGroup('g', settings)
    for (const r of records) copy.replay(decodeGroupRecord(encodeGroupKey(r), encodeGroupValue(r)), 0)
    expect(copy.groupEpoch).toBe(group.groupEpoch)
    expect(copy.assignmentEpoch).toBe(group.assignmentEpoch)
    expect([...copy.members.keys()].sort()).toEqual(['a', 'b'])
    for (const id of ['a', 'b']) {
      const { sessionDeadlineMs: _1, revocationDeadlineMs: _2, ...m } = group.members.get(id)!
      const { sessionDeadlineMs: _3, revocationDeadlineMs: _4, ...c } = copy.members.get(id)!
      expect(c).toEqual(m)
      expect(copy.targetOf(id)).toEqual(group.targetOf(id))
    }
    expect(copy.offsets.get('orders', 2)).toEqual({ offset: 42, leaderEpoch: 3, metadata: 'm', commitTimestampMs: 7 })
    // The copy continues where the original was: a acknowledges its revocation and moves on.
    const next = copy.heartbeat({ groupId: 'g', memberId: 'a', memberEpoch: 1, instanceId: null, rebalanceTimeoutMs: 5_000, subscribedTopicNames: null, serverAssignor: null, ownedPartitions: a1.assignment }, ctx())
    expect(next.memberEpoch).toBe(2)
  })

  it('property: over random joins, leaves, heartbeats and timeouts no partition is ever owned by two members, and an epoch has one owner per partition', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('join' as const), id: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('leave' as const), id: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('heartbeat' as const), id: fc.integer({ min: 0, max: 5 }), ack: fc.boolean() }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 6_000 }) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const { hb, group, clock } = setup()
        /** What each client believes it owns, and at which epoch. */
        const clients = new Map<string, { epoch: number; owned: readonly TopicPartitions[] }>()
        /** (partition, epoch) → owner, over the whole run. */
        const ownerInEpoch = new Map<string, string>()
        for (const o of ops) {
          if (o.kind === 'tick') {
            clock.advance(o.ms)
            for (const gone of group.expire(clock.monotonicMs())) clients.delete(gone)
            continue
          }
          const id = `m${o.id}`
          const c = clients.get(id)
          try {
            if (o.kind === 'join' && !c) {
              const r = hb(id, 0, [])
              clients.set(id, { epoch: r.memberEpoch, owned: r.assignment ?? [] })
            } else if (o.kind === 'leave' && c) {
              hb(id, -1, null)
              clients.delete(id)
            } else if (o.kind === 'heartbeat' && c) {
              const r = hb(id, c.epoch, o.ack ? c.owned : null)
              clients.set(id, { epoch: r.memberEpoch, owned: r.assignment ?? c.owned })
            }
          } catch (e) {
            clients.delete(id) // fenced or unknown: the client drops everything
            expect(e).toBeInstanceOf(SamsaError)
            expect([25, 81, 110]).toContain(e instanceof SamsaError ? e.code : null)
          }
          const seen = new Map<string, string>()
          for (const [mid, m] of group.members) {
            for (const k of [...m.assigned, ...m.pendingRevocation]) {
              expect(seen.get(k)).toBeUndefined()
              seen.set(k, mid)
              const key = `${k}@${m.memberEpoch}`
              const prev = ownerInEpoch.get(key)
              if (prev !== undefined) expect(prev).toBe(mid)
              ownerInEpoch.set(key, mid)
            }
          }
        }
      }),
      { numRuns: 300 },
    )
  })

  it('property: members that follow the protocol (sending ownedPartitions only when it changed, as the SDK does) always converge to a stable group owning every partition', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('join' as const, 'leave' as const, 'beat' as const, 'beat-slow' as const), fc.integer({ min: 0, max: 2 })), { maxLength: 30 }), (ops) => {
        const { hb, group } = setup()
        interface Client { epoch: number; owned: Set<string>; target: Set<string>; reported: Set<string> | null }
        const clients = new Map<string, Client>()
        const keysOf = (a: readonly TopicPartitions[]) => new Set(a.flatMap((t) => t.partitions.map((p) => `${t.topic}:${p}`)))
        const listOf = (set: Set<string>): TopicPartitions[] => (set.size === 0 ? [] : [{ topic: 'orders', partitions: [...set].map((k) => Number(k.split(':')[1])).sort((x, y) => x - y) }])
        // Reconcile first: give up what left the target, then take what is new (a slow member one partition per beat).
        const beat = (id: string, c: Client, slow = false) => {
          for (const k of c.owned) if (!c.target.has(k)) c.owned.delete(k)
          for (const k of [...c.target].sort()) {
            if (c.owned.has(k)) continue
            c.owned.add(k)
            if (slow) break
          }
          const changed = c.reported === null || c.reported.size !== c.owned.size || [...c.owned].some((k) => !c.reported!.has(k))
          const r = hb(id, c.epoch, changed ? listOf(c.owned) : null)
          if (changed) c.reported = new Set(c.owned)
          c.epoch = r.memberEpoch
          if (r.assignment) c.target = keysOf(r.assignment)
        }
        for (const [op, i] of ops) {
          const id = `m${i}`
          const c = clients.get(id)
          if (op === 'join' && !c) {
            const r = hb(id, 0, [])
            clients.set(id, { epoch: r.memberEpoch, owned: new Set(), target: keysOf(r.assignment ?? []), reported: new Set() })
          } else if (op === 'leave' && c) {
            hb(id, -1, null)
            clients.delete(id)
          } else if (op === 'beat' && c) beat(id, c)
          else if (op === 'beat-slow' && c) beat(id, c, true)
        }
        for (let round = 0; round < 6; round++) for (const [id, c] of clients) beat(id, c)
        if (clients.size === 0) return
        expect(group.state).toBe('stable')
        const owners = [...clients.values()].flatMap((c) => [...c.owned])
        expect(owners.length).toBe(6)
        expect(new Set(owners).size).toBe(6)
      }),
      { numRuns: 300 },
    )
  })
})
