import { exchanges, SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { parseAclFile } from '../security/authorization/acl-file.js'
import { Authorizer } from '../security/authorization/authorizer.js'
import { grantsAllowGroup } from '../security/authorization/grants.js'
import { refusalCountingMetrics, userWith } from '../security/testing/recording.js'
import { sessionHarness } from './testing/session-harness.js'

const errorOf = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => (e instanceof SamsaError ? { name: e.errorName, message: e.message } : e))
const join = (groupId: string, topics: string[]) => ({ groupId, memberId: 'm1', memberEpoch: 0, instanceId: null, rebalanceTimeoutMs: 5_000, subscribedTopicNames: topics, serverAssignor: null, ownedPartitions: [] })

describe('consumer groups under authorization (a group resource)', () => {
  it('needs describe of the group to find its coordinator or describe it, read to join and commit, and read of the subscribed topics; lists only describable groups', async () => {
    const metrics = refusalCountingMetrics()
    const h = await sessionHarness({ offsetsTopicPartitions: 1 }, { metrics, authorizer: new Authorizer({ enabled: true }) })
    const admin = h.open({ principal: userWith('root', { admin: true }) })
    for (const name of ['orders', 'secret']) await admin.request(exchanges.createTopic, { name, partitions: 2 })
    const alice = h.open({ principal: userWith('alice', { read: ['orders'], groups: { read: ['billing*'] } }) })
    const bob = h.open({ principal: userWith('bob', { read: ['orders'] }) })

    expect(await errorOf(bob.request(exchanges.findCoordinator, { groupId: 'billing' }))).toEqual({ name: 'GROUP_AUTHORIZATION_FAILED', message: 'principal "bob" may not describe group "billing"' })
    expect(metrics.refusals.get('group.describe')).toBe(1)
    expect(await alice.request(exchanges.findCoordinator, { groupId: 'billing' })).toMatchObject({ url: expect.any(String) })

    expect(await errorOf(alice.request(exchanges.consumerGroupHeartbeat, join('billing', ['secret'])))).toEqual({ name: 'TOPIC_AUTHORIZATION_FAILED', message: 'principal "alice" may not read topic "secret"' })
    expect(await errorOf(alice.request(exchanges.consumerGroupHeartbeat, join('payroll', ['orders'])))).toEqual({ name: 'GROUP_AUTHORIZATION_FAILED', message: 'principal "alice" may not read group "payroll"' })
    expect(await errorOf(bob.request(exchanges.consumerGroupHeartbeat, join('billing', ['orders'])))).toMatchObject({ name: 'GROUP_AUTHORIZATION_FAILED' })
    expect(await alice.request(exchanges.consumerGroupHeartbeat, join('billing', ['orders']))).toMatchObject({ memberEpoch: 1 })
    const commit = { groupId: 'billing', memberId: 'm1', memberEpoch: 1, topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: 1, leaderEpoch: 0, metadata: null }] }] }
    expect(await errorOf(bob.request(exchanges.offsetCommit, commit))).toMatchObject({ name: 'GROUP_AUTHORIZATION_FAILED' })
    expect(await alice.request(exchanges.offsetCommit, commit)).toMatchObject({ topics: [{ partitions: [{ errorCode: 0 }] }] })

    expect(await bob.request(exchanges.listGroups, {})).toEqual({ groups: [] })
    expect(await alice.request(exchanges.listGroups, {})).toMatchObject({ groups: [{ groupId: 'billing' }] })
    expect(await errorOf(bob.request(exchanges.describeGroups, { groupId: 'billing' }))).toMatchObject({ name: 'GROUP_AUTHORIZATION_FAILED' })
    expect(await alice.request(exchanges.describeGroups, { groupId: 'billing' })).toMatchObject({ groupId: 'billing', members: [{ memberId: 'm1' }] })
    await h.broker.shutdown()
  })

  it('reads group grants from the ACL file ({"operation": "read", "group": "billing*"}) and refuses a group entry with another operation', () => {
    const table = parseAclFile(JSON.stringify({ principals: { svc: { allow: [{ operation: 'read', group: 'billing*' }, { operation: 'describe', group: 'audit' }] } } }))
    const grants = table.get('svc')!
    expect(grantsAllowGroup(grants, 'read', 'billing-eu')).toBe(true)
    expect(grantsAllowGroup(grants, 'describe', 'billing-eu')).toBe(true) // read implies describe
    expect(grantsAllowGroup(grants, 'describe', 'audit')).toBe(true)
    expect(grantsAllowGroup(grants, 'read', 'audit')).toBe(false)
    expect(grantsAllowGroup(grants, 'read', 'payroll')).toBe(false)
    expect(() => parseAclFile(JSON.stringify({ principals: { svc: { allow: [{ operation: 'write', group: 'x' }] } } }))).toThrow('principals["svc"].allow[0].operation on a group must be read or describe, got "write"')
  })
})
