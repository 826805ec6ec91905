/**
 * Fault scenario "group rebalance": a 3-node cluster, a 6-partition topic (RF 3) and consumer-group members as their
 * own Node processes (support/group-member.mjs, the built SDK) while a producer writes steadily. c1 joins alone and
 * owns every partition; c2 and c3 join (partitions move: revoked by their owner before anyone else gets them); c2
 * leaves (SIGTERM: commit, leave); c3 is killed with SIGKILL and its partitions go to c1 after the group session
 * timeout. Every move waits until each partition has exactly one owner. The history of every process is checked
 * (test/support/group-history.ts): no two owners at once, no record processed outside ownership or by two members in
 * one epoch, every produced record processed, commits never regress and survive, c3's partitions owned again in
 * time. Prints how long each rebalance took (the fault → every partition owned by the expected members).
 *
 * Second case, slow members with a backlog: each member takes 2 ms per record and 3,000 records wait, so every
 * revocation finds the application with a record in hand (the SDK must wait for it before it heartbeats the partition
 * away), through the same joins, a leave and a kill.
 */
import { expect, it } from 'vitest'
import { startGroupScenario } from './support/group-scenario.js'

it('members join, leave and crash: partitions move one owner at a time, nothing unprocessed, commits kept', async () => {
  const s = await startGroupScenario({ topic: 'group-rebalance', partitions: 6, groupId: 'rebalance' })
  let failed = true
  try {
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
  } finally {
    await s.close(failed)
  }
})

it('slow members with a backlog: every revocation waits for the record in hand', async () => {
  const s = await startGroupScenario({ topic: 'group-slow', partitions: 6, groupId: 'slow' })
  let failed = true
  try {
    const { group } = s
    await group.produce(3_000)
    const slow = { recordDelayMs: 2, commitIntervalMs: 200 }
    group.start('s1', slow)
    await group.waitSettled(['s1'], 's1 owning every partition')
    group.start('s2', slow)
    await group.waitSettled(['s1', 's2'], 's1 and s2 sharing the partitions')
    group.start('s3', slow)
    await group.waitSettled(['s1', 's2', 's3'], 's1, s2 and s3 sharing the partitions')
    await group.stop('s1')
    await group.waitSettled(['s2', 's3'], 's2 and s3 after s1 left')
    await group.kill('s2')
    await group.waitSettled(['s3'], 's3 owning every partition after s2 was killed')
    const revokedWithBacklog = group.events().filter((e) => e.type === 'revoked' && !e.lost).length
    await s.finish(['s3'])
    expect(revokedWithBacklog).toBeGreaterThan(0)
    failed = false
  } finally {
    await s.close(failed)
  }
})
