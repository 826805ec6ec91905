/**
 * @module What the consumer-group fault scenarios share: a 3-node FaultCluster whose brokers run groups with short
 * timeouts, a replicated topic, a GroupMembers driver on every node's proxy, a background producer (acknowledged
 * records at a steady pace until stopped), and the ending: every member stopped, every produced record processed,
 * the committed offsets read back and the whole history checked (test/support/group-history.ts).
 */
import { expect } from 'vitest'
import { FaultCluster } from './cluster.js'
import { GroupMembers } from './group-members.js'
import { createReplicatedTopic } from './observe.js'

/** Group timing of the scenarios' brokers (the session timeout is the scenario's, default 3 s). */
export const GROUP_SESSION_TIMEOUT_MS = 3_000
export const GROUP_HEARTBEAT_INTERVAL_MS = 200
/**
 * A crashed member's partitions must be owned again within the session timeout, plus what it takes the survivors to
 * hear of it (a heartbeat) and take the partitions (a commit fetch, a subscription), with room for a busy machine.
 */
export const REOWN_GRACE_MS = 2_000
/** A member removed by the coordinator learns it at its next heartbeat: its zombie tail may last about that long. */
export const MAX_ZOMBIE_MS = 2 * GROUP_HEARTBEAT_INTERVAL_MS + 1_000

export interface GroupScenario {
  readonly cluster: FaultCluster
  readonly group: GroupMembers
  /** Starts producing `batch` records every `everyMs` until the returned function is called (it resolves once the last batch is acknowledged). */
  produceInBackground(batch: number, everyMs: number): () => Promise<void>
  /** Stops the given members (SIGTERM), waits for every produced record to be processed, reads the offsets back, checks. */
  finish(running: readonly string[]): Promise<void>
  close(failed: boolean): Promise<void>
}

export async function startGroupScenario(opts: { topic: string; partitions: number; groupId: string; sessionTimeoutMs?: number }): Promise<GroupScenario> {
  const sessionTimeoutMs = opts.sessionTimeoutMs ?? GROUP_SESSION_TIMEOUT_MS
  const cluster = await FaultCluster.start({
    sessionTimeoutMs: 2_000,
    extraArgs: [
      '--group-session-timeout-ms', String(sessionTimeoutMs),
      '--group-heartbeat-interval-ms', String(GROUP_HEARTBEAT_INTERVAL_MS),
      '--offsets-topic-partitions', '3',
    ],
  })
  let group: GroupMembers | null = null
  try {
    await cluster.waitHealthy()
    await createReplicatedTopic(cluster, { topic: opts.topic, partitions: opts.partitions, minInsyncReplicas: 2 })
    group = new GroupMembers({ brokers: cluster.brokerUrls, groupId: opts.groupId, topic: opts.topic, partitions: opts.partitions })
  } catch (e) {
    await cluster.close()
    throw e
  }
  const g = group
  return {
    cluster,
    group: g,
    produceInBackground(batch, everyMs) {
      let stopped = false
      const loop = (async () => {
        for (let i = 0; !stopped && i < 10_000; i++) {
          await g.produce(batch)
          await new Promise((r) => setTimeout(r, everyMs))
        }
      })()
      return async () => {
        stopped = true
        await loop
      }
    },
    async finish(running) {
      await g.waitProcessed(60_000)
      for (const name of running) await g.stop(name)
      await g.readBack()
      const { report, text } = g.check(sessionTimeoutMs + REOWN_GRACE_MS, MAX_ZOMBIE_MS)
      console.log(text)
      expect(report.anomalies, text).toEqual([])
      expect(report.counts.produced).toBeGreaterThan(0)
      expect(report.counts.finalCommitted).toBe(g.partitions)
    },
    async close(failed) {
      await g.close(failed)
      await cluster.close()
    },
  }
}
