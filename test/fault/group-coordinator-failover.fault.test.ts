/**
 * Fault scenario "group coordinator failover": a 3-node cluster, a 6-partition topic (RF 3), three group members as
 * Node processes committing every 100 ms while a producer writes. The group's coordinator (the leader of its
 * `__consumer_offsets` partition) is killed with SIGKILL twice, restarted each time; members find the new
 * coordinator and go on committing, and keep their membership: a request on the dead coordinator's connection fails
 * at once and the member finds the new coordinator, so a failover fits in the group session timeout (3 s) and no
 * member may be dropped as fenced or removed. The history is checked (test/support/group-history.ts): every acknowledged
 * commit survives the failovers (the offsets read back at the end are ≥ the last acknowledged ones) and never
 * regresses, no partition has two owners at once, every produced record is processed. Prints, per kill, how long
 * until the new coordinator answered and until the next acknowledged commit.
 */
import { afterAll, expect, it } from 'vitest'
import { describeGroup } from '../support/group-admin.js'
import { until } from '../support/until.js'
import { startGroupScenario, type GroupScenario } from './support/group-scenario.js'

const GROUP = 'failover'
let s: GroupScenario | null = null
let failed = true
afterAll(async () => {
  await s?.close(failed)
})

it('kill -9 of the group coordinator during commits: acknowledged commits survive, no regression, nothing unprocessed', async () => {
  s = await startGroupScenario({ topic: 'group-failover', partitions: 6, groupId: GROUP })
  const { group, cluster } = s
  const stopProducing = s.produceInBackground(10, 20)
  for (const m of ['c1', 'c2', 'c3']) group.start(m, { commitIntervalMs: 100 })
  await group.waitSettled(['c1', 'c2', 'c3'], 'three members sharing the partitions')

  const failovers: { killed: number; coordinatorMs: number; commitMs: number; newCoordinator: number }[] = []
  for (let k = 0; k < 2; k++) {
    const before = await describeGroup(cluster.brokerUrls, GROUP)
    const commitsBefore = group.events().filter((e) => e.type === 'committed').length
    await until(() => group.events().filter((e) => e.type === 'committed').length > commitsBefore + 6, { timeoutMs: 15_000, what: 'commits going on before the kill' })
    const killedAt = Date.now()
    await cluster.kill(before.coordinator)
    group.fault(`kill -9 of node ${before.coordinator}, the coordinator (group epoch ${before.groupEpoch})`)
    const after = await describeGroup(cluster.brokerUrls.filter((_, i) => i + 1 !== before.coordinator), GROUP, 30_000)
    const coordinatorMs = Date.now() - killedAt
    const next = await until(() => group.events().find((e) => e.type === 'committed' && e.at > killedAt && e.at > killedAt + coordinatorMs), { timeoutMs: 30_000, what: 'a commit acknowledged by the new coordinator' })
    failovers.push({ killed: before.coordinator, newCoordinator: after.coordinator, coordinatorMs, commitMs: next.at! - killedAt })
    expect(after.coordinator).not.toBe(before.coordinator)
    expect(after.members.length).toBe(3)
    await cluster.restart(before.coordinator)
    await cluster.waitHealthy()
    group.fault(`node ${before.coordinator} restarted and registered`)
  }

  await stopProducing()
  const lost = group.events().filter((e) => e.type === 'revoked' && e.lost === true)
  await s.finish(['c1', 'c2', 'c3'])
  console.log(`coordinator failovers (kill → new coordinator describes the group; kill → next acknowledged commit, ms): ${JSON.stringify(failovers)}`)
  expect(lost, 'members must keep their membership across a coordinator failover (session timeout 3 s)').toEqual([])
  failed = false
})
