/**
 * @module The parts of a fault scenario that need no test runner, shared by the vitest scenarios (workload.ts) and
 * the Playwright one (e2e/cluster-leader-kill.spec.ts): the tier's seed and duration, creating the replicated
 * topic, a sampler of each node's view of the partition leaders and of the controller, Node SDK clients, draining a
 * topic, and counting the sends that did not end acknowledged.
 */
import WebSocket from 'ws'
import { exchanges } from '../../../packages/shared/src/index.js'
import { createClient, memoryStorage, type Logger, type SamsaClient } from '@samsa/client-browser'
import { RawConnection } from '../../support/raw-connection.js'
import type { HistoryRecorder, Op } from '../../support/cluster-history-checker.js'
import type { Read } from '../../support/history-checker.js'
import type { FaultCluster } from './cluster.js'

/** Quick tier (npm test) unless FAULT_LONG=1 (`npm run test:fault -- --long`). */
export const LONG = process.env.FAULT_LONG === '1'
/** How long each scenario offers load: ≥ 20 s in the quick tier. */
export const DURATION_MS = Number(process.env.FAULT_DURATION_MS ?? (LONG ? 90_000 : 20_000))

/**
 * The scenario's seed (FAULT_SEED, else random in the long tier, else fixed), printed with the report so a failing
 * run can be replayed with `FAULT_SEED=… npm run test:fault -- <file>`.
 */
export const SEED = Number(process.env.FAULT_SEED ?? (LONG ? Math.floor(Math.random() * 2 ** 31) : 1))

/** mulberry32 over SEED: the scenario's choices (which node, when) come from here. */
export function seededRandom(seed = SEED): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Creates `topic` with replication factor 3 through a live node's own port, then waits for a full ISR on every partition. */
export async function createReplicatedTopic(cluster: FaultCluster, opts: { topic: string; partitions: number; minInsyncReplicas: number }): Promise<void> {
  const { topic, partitions, minInsyncReplicas } = opts
  const admin = await RawConnection.open(`ws://127.0.0.1:${cluster.node(cluster.live()[0]!).port}`)
  try {
    const created = await admin.request(exchanges.createTopic, { name: topic, partitions, replicationFactor: 3, minInsyncReplicas })
    if (!created.ok || created.value.name !== topic || created.value.partitions !== partitions) throw new Error(`creating ${topic} answered ${JSON.stringify(created)}`)
  } finally {
    admin.close()
  }
  for (let p = 0; p < partitions; p++) await cluster.waitLeader(topic, p, (m) => m.isr?.length === 3)
}

/**
 * Every 100 ms, asks each live node (on its own port) for the partitions' leader and leader epoch and for the
 * controller's term and leader, into `rec` (the checker's one-leader-per-epoch and one-controller-per-term rules).
 */
export function startSampler(cluster: FaultCluster, rec: HistoryRecorder, topic: string, partitions: number): { stop(): Promise<void> } {
  let stopped = false
  const running = (async () => {
    while (!stopped) {
      await Promise.all(cluster.live().map(async (id) => {
        const [parts, s] = await Promise.all([
          Promise.all(Array.from({ length: partitions }, (_, p) => cluster.partition(id, topic, p, 1_000))),
          cluster.status(id, 1_000),
        ])
        parts.forEach((p, partition) => {
          if (p) rec.sampleLeader({ observer: id, topic, partition, leader: p.leader, leaderEpoch: p.leaderEpoch })
        })
        if (s && s.term !== null) rec.sampleController({ observer: id, term: s.term, leaderId: s.leaderId })
      }))
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await running
    },
  }
}

/** A Node SDK client (over `ws`, memory storage, quick reconnects) for producers, consumers and drains. */
export function nodeClient(opts: { brokers: readonly string[]; clientId: string; logger?: Logger; requestTimeoutMs?: number; heartbeatIntervalMs?: number; heartbeatTimeoutMs?: number }): SamsaClient {
  return createClient({
    ...(opts.logger && { logger: opts.logger }),
    brokers: [...opts.brokers],
    clientId: opts.clientId,
    WebSocket: WebSocket as never,
    storage: memoryStorage(),
    reconnectBackoff: { baseMs: 20, capMs: 250 },
    requestTimeoutMs: opts.requestTimeoutMs ?? 5_000,
    ...(opts.heartbeatIntervalMs !== undefined && { heartbeatIntervalMs: opts.heartbeatIntervalMs }),
    ...(opts.heartbeatTimeoutMs !== undefined && { heartbeatTimeoutMs: opts.heartbeatTimeoutMs }),
  })
}

/** Every record of `topic`, each partition from its start to its high watermark at subscription time. */
export async function drainTopic(client: SamsaClient, topic: string): Promise<(Read & { readonly leaderEpoch: number })[]> {
  const drained: (Read & { readonly leaderEpoch: number })[] = []
  for await (const r of client.consumer().subscribe(topic, { from: 'earliest', until: 'end' })) {
    drained.push({ partition: r.partition, offset: r.offset, value: r.text(), leaderEpoch: r.leaderEpoch })
  }
  return drained
}

/** Sends that ended unknown or failed, counted by error message. */
export function sendErrorCounts(ops: readonly Op[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const o of ops) if (o.f === 'send' && (o.type === 'unknown' || o.type === 'fail')) counts[o.error ?? '?'] = (counts[o.error ?? '?'] ?? 0) + 1
  return counts
}
