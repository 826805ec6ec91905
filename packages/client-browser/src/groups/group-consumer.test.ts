import { SamsaError } from '@samsa/shared'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ConsumerRecord } from '../consumer/consumer-record.js'
import { scriptedGroup } from '../testing/scripted-group.js'
import { until } from '../testing/until.js'
import type { GroupSubscription } from './group-subscription.js'

const tp = (partition: number, topic = 't') => ({ topic, partition })
const names = (tps: readonly { topic: string; partition: number }[]) => tps.map((x) => `${x.topic}/${x.partition}`).join(' ')

describe('group consumer: the member loop against scripted coordinator answers', () => {
  const g = scriptedGroup(3, 7)
  beforeEach(g.setUp)
  afterEach(g.tearDown)
  const { answered, client } = g
  /** Produces `n` records to a partition through a client on the real clock. */
  async function produce(partition: number, n: number, from = 0): Promise<void> {
    const c = g.realClockClient()
    await c.producer({ lingerMs: 0 }).send('t', Array.from({ length: n }, (_, i) => ({ value: `p${partition}-${from + i}`, partition })))
  }
  /** A member subscribed to 't' that logs its events into g.coord.events. */
  function member(options: { autoCommit?: boolean | { intervalMs: number }; instanceId?: string; sessionTimeoutMs?: number } = {}): { sub: GroupSubscription; it: AsyncIterator<ConsumerRecord> } {
    const sub = client().consumer({ groupId: 'g', lifecycle: null, ...options }).subscribe('t', { fromBeginning: true })
    for (const event of ['assigned', 'revoked', 'lost'] as const) sub.on(event, (tps) => g.coord.events.push(`${event} ${names(tps)}`))
    return { sub, it: sub[Symbol.asyncIterator]() }
  }
  const next = async (it: AsyncIterator<ConsumerRecord>) => {
    const r = await it.next()
    if (r.done === true) throw new Error('the subscription ended')
    return r.value
  }

  it('joins at epoch 0, starts its assignment from the committed offset, then heartbeats owning it', async () => {
    g.coord.offsets.set('t/0', { offset: 3, leaderEpoch: 0 })
    g.coord.answer(1, [{ topic: 't', partitions: [0] }])
    await produce(0, 6)
    const { sub, it } = member()
    const first = await next(it)
    expect([first.partition, first.offset, first.text()]).toEqual([0, 3, 'p0-3'])
    expect(g.coord.heartbeats[0]).toMatchObject({ groupId: 'g', memberId: sub.memberId, memberEpoch: 0, instanceId: null, subscribedTopicNames: ['t'], ownedPartitions: [] })
    await until(() => g.coord.heartbeats.length === 2, { what: 'the heartbeat after the assignment' })
    expect(g.coord.events).toEqual(['heartbeat 0 []', 'fetch t/0', 'assigned t/0', 'heartbeat 1 [t/0]'])
    expect(g.coord.heartbeats[1]!.subscribedTopicNames).toBeNull()
    expect(sub.memberEpoch).toBe(1)
    expect(sub.assignment).toEqual([tp(0)])
    // The next heartbeat comes after the interval the coordinator named.
    await answered(sub) // the client handled every heartbeat answer: its next heartbeat timer is set
    g.clock.advance(g.coord.intervalMs - 1)
    expect(g.coord.heartbeats.length).toBe(2)
    g.clock.advance(1)
    await until(() => g.coord.heartbeats.length === 3, { what: 'the periodic heartbeat' })
    expect(g.coord.last!.ownedPartitions).toBeNull()
  })

  it('a reassignment revokes first: the record in hand is finished, its position committed, `revoked` emitted and a heartbeat sent before the new partition starts', async () => {
    g.coord.answer(1, [{ topic: 't', partitions: [0, 1] }])
    await produce(0, 5)
    const { sub, it } = member()
    const seen: string[] = [] // sub.assignment as listeners see it
    for (const event of ['assigned', 'revoked'] as const) sub.on(event, () => seen.push(`${event}: ${names(sub.assignment)}`))
    const held = await next(it) // a record of partition 0 in the application's hand
    expect(held.partition).toBe(0)
    await until(() => g.coord.heartbeats.length === 2, { what: 'owned heartbeat' })
    g.coord.events.length = 0
    g.coord.answer(2, [{ topic: 't', partitions: [1, 2] }])
    await answered(sub) // the client handled every heartbeat answer: its next heartbeat timer is set
    g.clock.advance(g.coord.intervalMs)
    await until(() => g.coord.events.length >= 1, { what: 'the heartbeat with the new assignment' })
    // The revocation waits for the application; heartbeats go on meanwhile, nothing new starts.
    await answered(sub) // the client handled every heartbeat answer: its next heartbeat timer is set
    g.clock.advance(g.coord.intervalMs)
    await until(() => g.coord.heartbeats.length === 4, { what: 'a heartbeat during the revocation' })
    expect(g.coord.events).toEqual(['heartbeat 1', 'heartbeat 2'])
    const after = next(it) // done with `held`
    await until(() => g.coord.events.includes('assigned t/2'), { what: 'the new partition' })
    await until(() => g.coord.events.includes('heartbeat 2 [t/1 t/2]'), { what: 'the heartbeat owning t/1 t/2' })
    expect(sub.assignment).toEqual([tp(1), tp(2)])
    expect(g.coord.events.slice(2)).toEqual([`commit t/0@${held.offset + 1}`, 'revoked t/0', 'heartbeat 2 [t/1]', 'fetch t/2', 'assigned t/2', 'heartbeat 2 [t/1 t/2]'])
    expect(seen).toEqual(['assigned: t/0 t/1', 'revoked: t/1', 'assigned: t/1 t/2'])
    // Records of partition 0 buffered behind `held` are not delivered any more.
    await produce(2, 1)
    expect((await after).partition).toBe(2)
  })

  it('FENCED_MEMBER_EPOCH drops every partition without committing (`lost`) and rejoins at epoch 0 with the same member id', async () => {
    g.coord.answer(3, [{ topic: 't', partitions: [0] }])
    await produce(0, 3)
    const { sub, it } = member()
    const lostIn: number[] = []
    sub.on('lost', () => lostIn.push(sub.memberEpoch))
    await next(it)
    await next(it) // offset 0 done
    await until(() => g.coord.heartbeats.length === 2, { what: 'owned heartbeat' })
    g.coord.fail(new SamsaError('FENCED_MEMBER_EPOCH', 'fenced')).answer(4, [{ topic: 't', partitions: [1] }])
    await answered(sub) // the client handled every heartbeat answer: its next heartbeat timer is set
    g.clock.advance(g.coord.intervalMs)
    await until(() => g.coord.events.includes('assigned t/1'), { what: 'the rejoin' })
    expect(g.coord.commits).toEqual([])
    expect(g.coord.events).toContain('lost t/0')
    expect(lostIn).toEqual([3]) // the epoch the member owned t/0 in
    expect(g.coord.heartbeats[3]).toMatchObject({ memberId: sub.memberId, memberEpoch: 0, subscribedTopicNames: ['t'], ownedPartitions: [] })
    expect(sub.memberEpoch).toBe(4)
  })

  it('NOT_COORDINATOR: the coordinator is found again and the next heartbeat sends the full subscription', async () => {
    g.coord.answer(1, [])
    const { sub } = member()
    await until(() => g.coord.heartbeats.length === 1, { what: 'join' })
    expect(g.coord.findRequests).toBe(1)
    g.coord.fail(new SamsaError('NOT_COORDINATOR', 'moved'))
    await answered(sub) // the client handled every heartbeat answer: its next heartbeat timer is set
    g.clock.advance(g.coord.intervalMs)
    await until(() => g.coord.heartbeats.length === 2, { what: 'the refused heartbeat' })
    g.coord.findErrors.push(new SamsaError('COORDINATOR_NOT_AVAILABLE', 'electing'))
    // Backoff timers (base 100 ms): time moves until the coordinator is found again and answers.
    await until(() => (g.clock.advance(50), g.coord.heartbeats.length === 3), { what: 'heartbeat to the coordinator found again' })
    expect(g.coord.findRequests).toBe(3)
    expect(g.coord.heartbeats[2]).toMatchObject({ memberEpoch: 1, subscribedTopicNames: ['t'], ownedPartitions: [] })
  })

  it('STALE_MEMBER_EPOCH on a commit: retried with the epoch of the next heartbeat', async () => {
    g.coord.answer(1, [{ topic: 't', partitions: [0] }])
    await produce(0, 3)
    const { sub, it } = member({ autoCommit: false })
    await next(it)
    await next(it)
    await until(() => g.coord.heartbeats.length === 2, { what: 'owned heartbeat' })
    g.coord.commitErrors.push(new SamsaError('STALE_MEMBER_EPOCH', 'stale'))
    g.coord.answer(2, null)
    await sub.commit() // offset 1 is in hand: committed up to it
    expect(g.coord.commits.map((c) => [c.memberEpoch, c.topics[0]!.partitions[0]!.offset])).toEqual([[1, 2], [2, 2]])
    expect(sub.committed(tp(0))).toEqual({ offset: 2, leaderEpoch: 0 })
  })

  it('auto commit: the positions the application is done with, once per interval', async () => {
    g.coord.answer(1, [{ topic: 't', partitions: [0] }])
    await produce(0, 5)
    const { it } = member({ autoCommit: { intervalMs: 2_000 } })
    for (let i = 0; i < 4; i++) await next(it) // done with 0..2
    await until(() => g.coord.heartbeats.length === 2, { what: 'owned heartbeat' })
    g.coord.intervalMs = 10_000
    g.clock.advance(1_999)
    expect(g.coord.commits).toEqual([])
    g.clock.advance(1)
    await until(() => g.coord.commits.length === 1, { what: 'the interval commit' })
    expect(g.coord.events).toContain('commit t/0@3')
    g.clock.advance(2_000) // nothing moved: nothing sent
    await next(it)
    g.clock.advance(2_000)
    await until(() => g.coord.commits.length === 2, { what: 'the next interval commit' })
    expect(g.coord.events).toContain('commit t/0@4')
  })

  it('manual commit: nothing is committed but by sub.commit(); close() then leaves with −1 without committing', async () => {
    g.coord.answer(1, [{ topic: 't', partitions: [0] }])
    await produce(0, 4)
    const { sub, it } = member({ autoCommit: false })
    for (let i = 0; i < 3; i++) await next(it)
    g.clock.advance(10_000)
    await until(() => g.coord.heartbeats.length >= 3, { what: 'heartbeats' })
    expect(g.coord.commits).toEqual([])
    await sub.commit() // from inside the loop: the record in hand (offset 2) counts
    expect(g.coord.events).toContain('commit t/0@3')
    await next(it)
    await sub.close()
    expect(g.coord.commits.length).toBe(1)
    expect(g.coord.last).toMatchObject({ memberId: sub.memberId, memberEpoch: -1 })
    expect(await sub.closed).toBeUndefined()
  })

  it('close() commits what was delivered (auto) and leaves: −1, or −2 for a static member', async () => {
    g.coord.answer(1, [{ topic: 't', partitions: [0] }])
    await produce(0, 4)
    const { sub, it } = member({ instanceId: 'billing-1' })
    await next(it)
    await next(it)
    await until(() => g.coord.heartbeats.length === 2, { what: 'owned heartbeat' })
    expect(g.coord.heartbeats[0]!.instanceId).toBe('billing-1')
    await sub.close()
    expect(g.coord.events.slice(-3)).toEqual(['commit t/0@1', 'revoked t/0', 'heartbeat -2'])
    expect(g.coord.last).toMatchObject({ memberEpoch: -2, instanceId: 'billing-1' })
  })

  it('UNRELEASED_INSTANCE_ID is retried with backoff until the coordinator lets the instance id go', async () => {
    g.coord.fail(new SamsaError('UNRELEASED_INSTANCE_ID', 'held')).fail(new SamsaError('UNRELEASED_INSTANCE_ID', 'held')).answer(5, [])
    const { sub } = member({ instanceId: 'svc-1' })
    await until(() => (g.clock.advance(50), sub.memberEpoch === 5), { what: 'the join after the retries' })
    expect(g.coord.heartbeats.map((h) => [h.memberEpoch, h.instanceId])).toEqual([[0, 'svc-1'], [0, 'svc-1'], [0, 'svc-1']])
  })

  it('while the coordinator cannot be found, heartbeats are retried at least once per heartbeat interval (the backoff does not outgrow it)', async () => {
    g.coord.answer(1, [{ topic: 't', partitions: [0] }])
    const { sub } = member()
    await until(() => sub.heartbeatsAnswered === 2, { what: 'joined and owning' })
    await answered(sub)
    g.coord.refusing = new SamsaError('COORDINATOR_NOT_AVAILABLE', 'moving')
    const sentAt = [g.clock.now()] // when each retry was seen (time moves in 50 ms steps)
    const seen = g.coord.heartbeats.length
    // Time moves only while no heartbeat is on its way: each retry waits for its backoff timer alone.
    await until(() => {
      if (sub.heartbeatsAnswered === g.coord.heartbeats.length) g.clock.advance(50)
      if (g.coord.heartbeats.length > seen + sentAt.length - 1) sentAt.push(g.clock.now())
      return sentAt.length > 12
    }, { timeoutMs: 20_000, what: '12 heartbeat retries' })
    const gaps = sentAt.slice(1).map((t, i) => t - sentAt[i]!)
    expect(gaps.filter((gap) => gap > g.coord.intervalMs + 50)).toEqual([])
    g.coord.refusing = null
  })

  it('a refusal (GROUP_AUTHORIZATION_FAILED) ends the subscription with the error: `error` is emitted, the loop ends, nothing is left', async () => {
    g.coord.fail(new SamsaError('GROUP_AUTHORIZATION_FAILED', 'not a member of g'))
    const { sub, it } = member()
    const errors: Error[] = []
    sub.on('error', (e) => errors.push(e))
    expect(await it.next()).toEqual({ done: true, value: undefined })
    const error = await sub.closed
    expect(error).toMatchObject({ errorName: 'GROUP_AUTHORIZATION_FAILED' })
    expect(errors).toEqual([error])
    expect(g.coord.heartbeats.map((h) => h.memberEpoch)).toEqual([0])
  })

  it('an aborted signal closes the subscription and leaves the group', async () => {
    g.coord.answer(1, [{ topic: 't', partitions: [0] }])
    const abort = new AbortController()
    const sub = client().consumer({ groupId: 'g', lifecycle: null }).subscribe(['t'], { signal: abort.signal })
    await until(() => sub.heartbeatsAnswered === 2, { what: 'joined and owning' })
    abort.abort()
    expect(await sub.closed).toBeUndefined()
    expect(g.coord.last).toMatchObject({ memberEpoch: -1 })
    expect(() => client().consumer({ groupId: 'g', lifecycle: null }).subscribe([])).toThrow(/topics must be a topic name or a non-empty list of them/)
  })

  it('no heartbeat answered for the session timeout: delivery pauses, partitions kept; an answer resumes it', async () => {
    g.coord.answer(1, [{ topic: 't', partitions: [0] }])
    await produce(0, 1)
    const { sub, it } = member({ sessionTimeoutMs: 3_000 })
    expect((await next(it)).offset).toBe(0)
    await answered(sub)
    const start = g.clock.now()
    g.coord.refusing = new SamsaError('COORDINATOR_LOAD_IN_PROGRESS', 'loading')
    // Heartbeats fail (with backoff) while time passes the session timeout.
    await until(() => (g.clock.advance(100), g.clock.now() - start > 3_000), { what: 'the session timeout' })
    const pushes = g.broker.pushes.length
    await produce(0, 1, 1)
    let second: number | null = null
    void it.next().then((r) => (second = r.done === true ? -1 : r.value.offset))
    await until(() => g.broker.pushes.length > pushes, { what: 'the push of offset 1' })
    await new Promise((resolve) => setImmediate(resolve))
    expect(second).toBeNull()
    expect(sub.assignment).toEqual([tp(0)])
    g.coord.refusing = null
    await until(() => (g.clock.advance(100), second !== null), { what: 'delivery resumed after an answered heartbeat' })
    expect(second).toBe(1)
    expect(g.coord.heartbeats.length).toBeGreaterThan(3)
  })
})
