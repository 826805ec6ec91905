/**
 * `samsa groups` end to end from the BUILT dist against a broker child process: list and describe show the group's
 * member, assignment and lag; reset-offsets is a dry run that changes nothing unless --execute, and --execute is
 * refused with one clear line while the group has members, then applied once it is empty.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exchanges, type DescribeGroupsResponse } from '@samsa/shared'
import { killAll, runCli, startChildBroker, type ChildBroker, type CliResult } from '../support/child-broker.js'
import { RawConnection } from '../support/raw-connection.js'
import { produceValues } from '../support/raw-log.js'
import { until } from '../support/until.js'

let broker: ChildBroker
let dir: string
let conn: RawConnection

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'samsa-cli-groups-'))
  broker = await startChildBroker(dir, ['--offsets-topic-partitions', '3', '--group-heartbeat-interval-ms', '100'])
  conn = await RawConnection.open(broker.url)
})

afterAll(async () => {
  conn?.close()
  await broker?.stop()
  await killAll()
  await rm(dir, { recursive: true, force: true })
})

const ok = (r: CliResult) => {
  expect(r.timedOut, `timed out; stderr: ${r.stderr}`).toBe(false)
  expect(r.code, `exit ${r.code}; stderr: ${r.stderr}`).toBe(0)
  return r
}

describe('samsa groups', () => {
  it('lists and describes a group with lag, and resets its offsets (dry run, refused while it has members, applied once empty)', async () => {
    expect(await conn.request(exchanges.createTopic, { name: 'orders', partitions: 2 })).toMatchObject({ ok: true })
    await produceValues(conn, 'orders', 0, ['a', 'b', 'c', 'd'])
    await produceValues(conn, 'orders', 1, ['e', 'f'])
    await until(async () => (await conn.request(exchanges.findCoordinator, { groupId: 'billing' })).ok)
    const joined = await conn.request(exchanges.consumerGroupHeartbeat, { groupId: 'billing', memberId: 'm1', memberEpoch: 0, instanceId: null, rebalanceTimeoutMs: 5_000, subscribedTopicNames: ['orders'], serverAssignor: null, ownedPartitions: [] })
    expect(joined).toMatchObject({ ok: true, value: { memberEpoch: 1 } })
    expect(await conn.request(exchanges.offsetCommit, { groupId: 'billing', memberId: 'm1', memberEpoch: 1, topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: 3, leaderEpoch: 0, metadata: null }] }] })).toMatchObject({ ok: true })

    const B = ['--broker', broker.url]
    expect(ok(await runCli(['groups', 'list', ...B])).stdout).toBe('billing\tstable\t1 member\tepoch 1\n')
    const text = ok(await runCli(['groups', 'describe', 'billing', ...B])).stdout
    expect(text).toContain('m1\t-\t1\t')
    expect(text).toContain('orders\t0\t3\t4\t1\n') // committed 3 of 4: lag 1
    expect(text).toContain('orders\t1\t-\t2\t2\n') // nothing committed: the whole readable log

    const dry = ok(await runCli(['groups', 'reset-offsets', 'billing', '--topic', 'orders', '--to-earliest', ...B])).stdout
    expect(dry).toBe('topic\tpartition\tcurrent\tnew\norders\t0\t3\t0\norders\t1\t-\t0\ndry run: nothing changed; add --execute to commit these offsets (the group must have no members)\n')
    const refused = await runCli(['groups', 'reset-offsets', 'billing', '--topic', 'orders', '--to-offset', '1', '--execute', ...B])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr.trim()).toMatch(/^samsa: NON_EMPTY_GROUP: group "billing" has 1 member/)

    expect(await conn.request(exchanges.consumerGroupHeartbeat, { groupId: 'billing', memberId: 'm1', memberEpoch: -1, instanceId: null, rebalanceTimeoutMs: 5_000, subscribedTopicNames: null, serverAssignor: null, ownedPartitions: null })).toMatchObject({ ok: true })
    expect(ok(await runCli(['groups', 'reset-offsets', 'billing', '--topic', 'orders', '--to-offset', '1', '--execute', ...B])).stdout).toContain('reset 2 partitions of orders for group billing\n')
    const d = JSON.parse(ok(await runCli(['groups', 'describe', 'billing', '--json', ...B])).stdout) as DescribeGroupsResponse
    expect(d.offsets.map((o) => [o.partition, o.committedOffset])).toEqual([[0, 1], [1, 1]])
    const bad = await runCli(['groups', 'reset-offsets', 'billing', '--topic', 'orders', ...B])
    expect(bad.stderr.trim()).toBe('samsa: give exactly one of --to-earliest, --to-latest, --to-offset <n>, --to-datetime <iso>')
  }, 60_000)
})
