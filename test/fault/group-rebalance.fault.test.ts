/**
 * Fault scenario "group rebalance": a 3-node cluster, a 6-partition topic (RF 3) and consumer-group members as their
 * own Node processes (support/group-member.mjs, the built SDK) while a producer writes steadily. c1 joins alone and
 * owns every partition; c2 and c3 join (partitions move: revoked by their owner before anyone else gets them); c2
 * leaves (SIGTERM: commit, leave); c3 is killed with SIGKILL and its partitions go to c1 after the group session
 * timeout. Every move waits until each partition has exactly one owner. The history of every process is checked
 * (test/support/group-history.ts): no two owners at once, no record processed outside ownership or by two members in
 * one epoch, every produced record processed, commits never regress and survive, c3's partitions owned again in
 * time. Prints how long each rebalance took (the fault → every partition owned by the expected members).
 */
import { afterAll, expect, it } from 'vitest'
import { startGroupScenario, type GroupScenario } from './support/group-scenario.js'

let s: GroupScenario | null = null
let failed = true
afterAll(async () => {
  await s?.close(failed)
})

it('members join, leave and crash: partitions move one owner at a time, nothing unprocessed, commits kept', async () => {
  s = await startGroupScenario({ topic: 'group-rebalance', partitions: 6, groupId: 'rebalance' })
  const { group } = s
  const stopProducing = s.produceInBackground(10, 20)
  const timings: Record<string, number> = {}

  let t = Date.now()
  group.start('c1')
  timings.firstJoin = (await group.waitSettled(['c1'], 'c1 owning every partition')) - t
  t = Date.now()
  group.start('c2')
  timings.join2 = (await group.waitSettled(['c1', 'c2'], 'c1 and c2 sharing the partitions')) - t
  t = Date.now()
  group.start('c3')
  timings.join3 = (await group.waitSettled(['c1', 'c2', 'c3'], 'c1, c2 and c3 sharing the partitions')) - t
  t = Date.now()
  await group.stop('c2')
  timings.leave = (await group.waitSettled(['c1', 'c3'], 'c1 and c3 after c2 left')) - t
  t = await group.kill('c3')
  timings.crash = (await group.waitSettled(['c1'], 'c1 owning every partition after c3 was killed')) - t

  await stopProducing()
  await s.finish(['c1'])
  console.log(`group rebalance (ms, the change → every partition owned by the expected members): ${JSON.stringify(timings)}`)
  expect(group.running('c1')).toBe(false)
  failed = false
})
