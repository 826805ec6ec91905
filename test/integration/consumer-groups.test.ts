/**
 * Consumer groups on a single node over real WebSockets, spoken with raw frames: the coordinator is found, two
 * members share a 6-partition topic (a partition reaches the newcomer only after its owner gave it up), a leave
 * moves its partitions back, commits are fenced by member epoch, and a restart keeps committed offsets and a static
 * member's assignment (the group is rebuilt from `__consumer_offsets`).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeRecordBatch, exchanges, type TopicPartitions } from '@samsa/shared'
import { startBroker, type RunningBroker } from '../../packages/server/src/adapters/node/index.js'
import { freePorts } from '../support/free-ports.js'
import { silentLogger } from '../support/in-process-cluster.js'
import { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'

const dirs: string[] = []
const brokers: RunningBroker[] = []
const conns: RawConnection[] = []
afterAll(async () => {
  for (const c of conns) c.close()
  for (const b of brokers) await b.close().catch(() => {})
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const config = { groupHeartbeatIntervalMs: 50, groupSessionTimeoutMs: 3_000, offsetsTopicPartitions: 5 }

async function start(dir: string, port: number): Promise<RunningBroker> {
  const b = await startBroker({ port, dataDir: dir, logger: silentLogger, config })
  brokers.push(b)
  return b
}

async function open(url: string): Promise<RawConnection> {
  const c = await RawConnection.open(url)
  conns.push(c)
  return c
}

const count = (a: readonly TopicPartitions[]) => a.reduce((n, t) => n + t.partitions.length, 0)
const keys = (a: readonly TopicPartitions[]) => a.flatMap((t) => t.partitions.map((p) => `${t.topic}:${p}`))

/** A protocol-following member: owns what it was last told, heartbeats when asked to. */
class Member {
  epoch = 0
  owned: readonly TopicPartitions[] = []
  constructor(readonly c: RawConnection, readonly id: string, readonly instanceId: string | null = null) {}

  async heartbeat(join = false) {
    const r = await this.c.request(exchanges.consumerGroupHeartbeat, {
      groupId: 'billing', memberId: this.id, memberEpoch: join ? 0 : this.epoch, instanceId: this.instanceId, rebalanceTimeoutMs: 5_000,
      subscribedTopicNames: join ? ['orders'] : null, serverAssignor: null, ownedPartitions: this.owned,
    })
    if (!r.ok) throw r.error
    this.epoch = r.value.memberEpoch
    if (r.value.assignment) this.owned = r.value.assignment
    return r.value
  }

  async commit(partitions: { partition: number; offset: number }[], epoch = this.epoch) {
    return this.c.request(exchanges.offsetCommit, {
      groupId: 'billing', memberId: this.id, memberEpoch: epoch,
      topics: [{ topic: 'orders', partitions: partitions.map((p) => ({ ...p, leaderEpoch: 0, metadata: null })) }],
    })
  }
}

/** Heartbeats every member until `done` holds (each round one heartbeat per member). */
async function converge(members: Member[], done: () => boolean, what: string) {
  await until(async () => {
    for (const m of members) await m.heartbeat()
    return done()
  }, { timeoutMs: 15_000, what })
}

describe('consumer groups, single node', () => {
  it('members share a topic, rebalance on join and leave, commits are fenced by epoch, and a restart keeps offsets and static assignments', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'samsa-groups-'))
    dirs.push(dir)
    const [port] = await freePorts(1)
    let broker = await start(dir, port!)
    const admin = await open(broker.url)
    expect(await admin.request(exchanges.createTopic, { name: 'orders', partitions: 6 })).toMatchObject({ ok: true })

    const found = await admin.request(exchanges.findCoordinator, { groupId: 'billing' })
    expect(found).toEqual({ ok: true, value: { brokerId: expect.any(Number), url: broker.url } })

    const a = new Member(await open(broker.url), 'member-a', 'svc-a')
    const b = new Member(await open(broker.url), 'member-b')
    await a.heartbeat(true)
    expect(count(a.owned)).toBe(6)
    expect(a.epoch).toBe(1)

    // Join: b's partitions arrive only once a has given them up.
    const joinStarted = Date.now()
    await b.heartbeat(true)
    expect(count(b.owned)).toBe(0)
    await converge([a, b], () => count(a.owned) === 3 && count(b.owned) === 3 && a.epoch === b.epoch, 'a 3/3 split')
    const joinMs = Date.now() - joinStarted
    expect(new Set([...keys(a.owned), ...keys(b.owned)]).size).toBe(6)

    // Commits: by the owner at its epoch; a zombie's old epoch is refused; the committed offset is read back.
    const mine = a.owned[0]!.partitions[0]!
    expect(await a.commit([{ partition: mine, offset: 17 }])).toMatchObject({ ok: true, value: { topics: [{ partitions: [{ partition: mine, errorCode: 0 }] }] } })
    expect(await a.commit([{ partition: mine, offset: 3 }], 1)).toMatchObject({ ok: false, error: { code: 113 } }) // STALE_MEMBER_EPOCH
    expect(await a.commit([{ partition: mine, offset: 3 }], a.epoch + 5)).toMatchObject({ ok: false, error: { code: 110 } }) // FENCED_MEMBER_EPOCH
    const fetched = await a.c.request(exchanges.offsetFetch, { groupId: 'billing', memberId: a.id, memberEpoch: a.epoch, topics: [{ topic: 'orders', partitions: [mine] }] })
    expect(fetched).toMatchObject({ ok: true, value: { topics: [{ topic: 'orders', partitions: [{ partition: mine, offset: 17, leaderEpoch: 0, errorCode: 0 }] }] } })
    // An admin commit is refused while the group has members.
    expect(await admin.request(exchanges.offsetCommit, { groupId: 'billing', memberId: '', memberEpoch: -1, topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: 0, leaderEpoch: -1, metadata: null }] }] }))
      .toMatchObject({ ok: false, error: { code: 68 } })

    // Leave: b's partitions go back to a.
    const leaveStarted = Date.now()
    expect(await b.c.request(exchanges.consumerGroupHeartbeat, { groupId: 'billing', memberId: b.id, memberEpoch: -1, instanceId: null, rebalanceTimeoutMs: 5_000, subscribedTopicNames: null, serverAssignor: null, ownedPartitions: null }))
      .toMatchObject({ ok: true, value: { memberEpoch: -1 } })
    await converge([a], () => count(a.owned) === 6, 'a owning all 6 again')
    const leaveMs = Date.now() - leaveStarted

    const described = await admin.request(exchanges.describeGroups, { groupId: 'billing' })
    expect(described).toMatchObject({ ok: true, value: { groupId: 'billing', state: 'stable', members: [{ memberId: 'member-a', instanceId: 'svc-a' }] } })
    expect(described.ok && described.value.offsets.find((o) => o.partition === mine)).toMatchObject({ committedOffset: 17, highWatermark: 0, lag: 0 })
    expect(await admin.request(exchanges.listGroups, {})).toMatchObject({ ok: true, value: { groups: [{ groupId: 'billing', memberCount: 1 }] } })

    // a leaves temporarily (a static member), the broker restarts, a comes back under a new member id.
    const before = { epoch: a.epoch, owned: keys(a.owned) }
    expect(await a.c.request(exchanges.consumerGroupHeartbeat, { groupId: 'billing', memberId: a.id, memberEpoch: -2, instanceId: 'svc-a', rebalanceTimeoutMs: 5_000, subscribedTopicNames: null, serverAssignor: null, ownedPartitions: null }))
      .toMatchObject({ ok: true, value: { memberEpoch: -2 } })
    await broker.close()
    broker = await start(dir, port!)
    const admin2 = await open(broker.url)
    await until(async () => (await admin2.request(exchanges.findCoordinator, { groupId: 'billing' })).ok, { what: 'the coordinator after the restart' })
    const afterRestart = await admin2.request(exchanges.offsetFetch, { groupId: 'billing', memberId: '', memberEpoch: -1, topics: null })
    expect(afterRestart).toMatchObject({ ok: true, value: { topics: [{ topic: 'orders', partitions: [{ partition: mine, offset: 17 }] }] } })
    const back = new Member(await open(broker.url), 'member-a2', 'svc-a')
    await back.heartbeat(true)
    expect(back.epoch).toBe(before.epoch)
    expect(keys(back.owned).sort()).toEqual([...before.owned].sort())
    console.info(`consumer groups, single node: join rebalance ${joinMs} ms, leave rebalance ${leaveMs} ms (heartbeats back to back)`)
  }, 60_000)

  it('removes a silent member after the session timeout and gives its partitions to the others', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'samsa-groups-'))
    dirs.push(dir)
    const broker = await start(dir, 0)
    const admin = await open(broker.url)
    expect(await admin.request(exchanges.createTopic, { name: 'orders', partitions: 6 })).toMatchObject({ ok: true })
    await until(async () => (await admin.request(exchanges.findCoordinator, { groupId: 'billing' })).ok)
    const a = new Member(await open(broker.url), 'a')
    const b = new Member(await open(broker.url), 'b')
    await a.heartbeat(true)
    await b.heartbeat(true)
    await converge([a, b], () => count(a.owned) === 3 && count(b.owned) === 3, 'a 3/3 split')
    const crashed = Date.now()
    // b goes silent (a crash): only a heartbeats.
    await until(async () => {
      await a.heartbeat()
      return count(a.owned) === 6
    }, { timeoutMs: 15_000, what: 'a owning all 6 after b\'s session timeout' })
    const crashMs = Date.now() - crashed
    expect(crashMs).toBeGreaterThanOrEqual(config.groupSessionTimeoutMs / 2) // not removed early
    expect(await b.commit([{ partition: 0, offset: 1 }])).toMatchObject({ ok: false, error: { code: 25 } }) // UNKNOWN_MEMBER_ID
    console.info(`consumer groups, single node: crash rebalance ${crashMs} ms (session timeout ${config.groupSessionTimeoutMs} ms)`)
  }, 60_000)

  it('bounds: a member over maxMembersPerGroup gets GROUP_MAX_SIZE_REACHED, a group over maxGroups POLICY_VIOLATION; both counted in /metrics with members and lag', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'samsa-groups-'))
    dirs.push(dir)
    const broker = await startBroker({ port: 0, dataDir: dir, logger: silentLogger, config: { ...config, maxMembersPerGroup: 1, maxGroups: 1 } })
    brokers.push(broker)
    const admin = await open(broker.url)
    expect(await admin.request(exchanges.createTopic, { name: 'orders', partitions: 2 })).toMatchObject({ ok: true })
    await until(async () => (await admin.request(exchanges.findCoordinator, { groupId: 'billing' })).ok)
    const a = new Member(await open(broker.url), 'a')
    await a.heartbeat(true)
    await expect(new Member(await open(broker.url), 'b').heartbeat(true)).rejects.toMatchObject({ code: 81 })
    const other = await admin.request(exchanges.consumerGroupHeartbeat, { groupId: 'another', memberId: 'x', memberEpoch: 0, instanceId: null, rebalanceTimeoutMs: 5_000, subscribedTopicNames: ['orders'], serverAssignor: null, ownedPartitions: [] })
    expect(other).toMatchObject({ ok: false, error: { code: 44 } })
    expect(await a.commit([{ partition: 0, offset: 0 }])).toMatchObject({ ok: true })
    const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text()
    expect(metrics).toContain('samsa_group_refusals_total{bound="members"} 1')
    expect(metrics).toContain('samsa_group_refusals_total{bound="groups"} 1')
    expect(metrics).toContain('samsa_group_members{group="billing"} 1')
    expect(metrics).toMatch(/samsa_group_rebalances_total [1-9]/)
    expect(metrics).toContain('samsa_group_lag{group="billing",topic="orders",partition="0"} 0')
    // REST: the groups this broker coordinates, and one group's members, assignment and lag.
    expect(await (await fetch(`${broker.httpUrl}/v1/groups`)).json()).toEqual({ groups: [{ groupId: 'billing', state: 'stable', memberCount: 1, groupEpoch: 1 }] })
    const rest = await fetch(`${broker.httpUrl}/v1/groups/billing`)
    expect(rest.status).toBe(200)
    expect(await rest.json()).toMatchObject({ groupId: 'billing', members: [{ memberId: 'a', assignment: [{ topic: 'orders', partitions: [0, 1] }] }], offsets: [{ topic: 'orders', partition: 0, committedOffset: 0, lag: 0 }, { topic: 'orders', partition: 1, committedOffset: -1 }] })
    expect((await fetch(`${broker.httpUrl}/v1/groups/nope`)).status).toBe(404)
    // The internal topic is the coordinators' alone.
    expect(await admin.request(exchanges.produce, { topic: '__consumer_offsets', partition: 0, acks: -1, timeoutMs: 5_000, batch: encodeRecordBatch({ records: [{ key: null, value: new Uint8Array(1), headers: [], timestamp: 0 }] }) }))
      .toMatchObject({ ok: false, error: { errorName: 'POLICY_VIOLATION' } })
    expect(await admin.request(exchanges.deleteTopic, { name: '__consumer_offsets' })).toMatchObject({ ok: false, error: { errorName: 'POLICY_VIOLATION' } })
  }, 60_000)
})
