/**
 * @module Simulated power loss of a killed node, and a byte-for-byte comparison of the replicas of a partition.
 *
 * Power loss: `kill -9` keeps everything the process wrote (the kernel's page cache survives a process death); a power
 * loss also drops what was written after the file's last fsync. Under `--fsync never` a partition's active segment is
 * fsynced only when the log is opened (recovery), rolled, truncated or closed, or its recovery point is written (every
 * recoveryPointIntervalMs; cutting below one only makes recovery ignore it and verify everything), so after a node's first start any
 * suffix of its active segment may be lost; every other file the broker writes (leader-epoch and high-watermark
 * checkpoints, the Raft log, the broker's identity) is written temp → fsync → rename or fsynced before use, so it
 * survives whole. `cutTail` models that: it cuts the node's active segment at a batch boundary plus, optionally, the
 * first bytes of the next batch (a torn write). Valid only for a node whose partition log has not been opened since it
 * last held fewer bytes than are kept (here: a node never restarted before), since an open fsyncs what it finds.
 *
 * Replica comparison: followers append the leader's batch bytes unchanged (offsets, epochs and CRCs kept), so
 * replicas that agree hold identical segment bytes. `readReplica` reads a node's partition from disk (the node must
 * be stopped or idle); `firstDivergence` names the first offset where two replicas differ.
 */
import { readdir, readFile, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { batchLastOffset, decodeRecords, scanBatches, type BatchHeader } from '@samsa/shared'
import { until } from '../../support/until.js'
import type { ClusterNode, FaultCluster } from './cluster.js'

export interface OnDiskBatch {
  readonly segment: string
  readonly position: number
  readonly totalBytes: number
  readonly header: BatchHeader
}

export function partitionDir(node: ClusterNode, topic: string, partition: number): string {
  return join(node.dataDir, 'topics', topic, String(partition))
}

/** The `.log` files of the node's partition, oldest first (absolute paths). */
export async function segmentFiles(node: ClusterNode, topic: string, partition: number): Promise<string[]> {
  const dir = partitionDir(node, topic, partition)
  return (await readdir(dir)).filter((n) => /^\d{20}\.log$/.test(n)).sort().map((n) => join(dir, n))
}

async function batchesOf(file: string): Promise<{ bytes: Uint8Array; batches: OnDiskBatch[] }> {
  const bytes = new Uint8Array(await readFile(file))
  return { bytes, batches: [...scanBatches(bytes)].map((b) => ({ segment: file, position: b.at, totalBytes: b.totalBytes, header: b.header })) }
}

export interface PowerCut {
  readonly node: number
  readonly segment: string
  readonly bytesBefore: number
  readonly bytesAfter: number
  /** Offset after the last whole batch, before and after the cut (the log end the node recovers to). */
  readonly logEndBefore: number
  readonly logEndAfter: number
  readonly droppedBatches: number
  /** Bytes of the first dropped batch left behind (a torn write recovery must cut off). */
  readonly tornBytes: number
}

/**
 * Power loss of the killed node `node`: keeps the first `keep(batches)` whole batches of its active segment and
 * `tornBytes` bytes of the next one (clamped below that batch's size). Returns what was cut.
 */
export async function cutTail(
  node: ClusterNode,
  topic: string,
  partition: number,
  choose: (batches: readonly OnDiskBatch[]) => { keep: number; tornBytes: number },
): Promise<PowerCut> {
  if (node.process) throw new Error(`node ${node.id} is running: a power cut needs it killed first`)
  const files = await segmentFiles(node, topic, partition)
  const segment = files.at(-1)
  if (!segment) throw new Error(`node ${node.id} has no segment of ${topic}/${partition}`)
  const { bytes, batches } = await batchesOf(segment)
  const { keep, tornBytes: wantedTorn } = choose(batches)
  if (!Number.isSafeInteger(keep) || keep < 0 || keep > batches.length) throw new Error(`cannot keep ${keep} of ${batches.length} batches`)
  const whole = keep === 0 ? 0 : batches[keep - 1]!.position + batches[keep - 1]!.totalBytes
  const next = batches[keep]
  const tornBytes = next ? Math.max(0, Math.min(wantedTorn, next.totalBytes - 1)) : 0
  const endOf = (n: number) => (n === 0 ? (batches[0]?.header.baseOffset ?? 0) : batchLastOffset(batches[n - 1]!.header) + 1)
  await truncate(segment, whole + tornBytes)
  return {
    node: node.id,
    segment,
    bytesBefore: bytes.length,
    bytesAfter: whole + tornBytes,
    logEndBefore: endOf(batches.length),
    logEndAfter: endOf(keep),
    droppedBatches: batches.length - keep,
    tornBytes,
  }
}

export interface ReplicaLog {
  readonly node: number
  readonly batches: readonly OnDiskBatch[]
  /** The batch bytes, in log order. */
  readonly chunks: readonly Uint8Array[]
  readonly logEndOffset: number
}

/** The node's partition as it is on disk (every segment, whole batches only). */
export async function readReplica(node: ClusterNode, topic: string, partition: number): Promise<ReplicaLog> {
  const batches: OnDiskBatch[] = []
  const chunks: Uint8Array[] = []
  for (const file of await segmentFiles(node, topic, partition)) {
    const r = await batchesOf(file)
    for (const b of r.batches) {
      batches.push(b)
      chunks.push(r.bytes.subarray(b.position, b.position + b.totalBytes))
    }
  }
  const last = batches.at(-1)
  return { node: node.id, batches, chunks, logEndOffset: last ? batchLastOffset(last.header) + 1 : 0 }
}

const td = new TextDecoder()
const valuesOf = (chunk: Uint8Array | undefined): string[] => (chunk ? decodeRecords(chunk).records.map((r) => (r.value ? td.decode(r.value) : '')) : [])
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/** Null when both replicas hold the same batches, byte for byte; otherwise where and how they first differ. */
export function firstDivergence(a: ReplicaLog, b: ReplicaLog): string | null {
  const n = Math.max(a.batches.length, b.batches.length)
  for (let i = 0; i < n; i++) {
    const x = a.batches[i]
    const y = b.batches[i]
    if (x && y && same(a.chunks[i]!, b.chunks[i]!)) continue
    const describe = (r: ReplicaLog, h: OnDiskBatch | undefined, c: Uint8Array | undefined) =>
      h ? `node ${r.node}: batch ${h.header.baseOffset}..${batchLastOffset(h.header)} epoch ${h.header.partitionLeaderEpoch} [${valuesOf(c).slice(0, 3).join(',')}]` : `node ${r.node}: log ends at ${r.logEndOffset}`
    return `batch #${i}: ${describe(a, x, a.chunks[i])} vs ${describe(b, y, b.chunks[i])}`
  }
  return null
}

export interface ReplicaComparison {
  /** Each node's log end on disk. */
  readonly logEnds: Readonly<Record<number, number>>
  readonly batches: number
  /** One line per replica that differs from the first node's (empty when every replica holds the same log). */
  readonly divergences: readonly string[]
}

/**
 * Once no more writes come: waits until every node reports the same log end for the partition (straight to its port),
 * kills every node (a process kill keeps what it wrote) and compares their partition files batch by batch.
 */
export async function stopAndCompareReplicas(cluster: FaultCluster, topic: string, partition: number, timeoutMs = 30_000): Promise<ReplicaComparison> {
  const ids = [...cluster.nodes.keys()]
  await until(async () => {
    const views = await Promise.all(ids.map((id) => cluster.partition(id, topic, partition)))
    if (views.some((v) => v === null)) return false
    const replicas = views.find((v) => v!.replicas)?.replicas ?? []
    const ends = views.filter((v, i) => replicas.includes(ids[i]!)).map((v) => v!.logEndOffset)
    return ends.length === replicas.length && new Set(ends).size === 1
  }, { timeoutMs, what: `every replica of ${topic}/${partition} at the same log end` })
  const replicas = (await cluster.partition(ids[0]!, topic, partition))?.replicas ?? ids
  for (const id of ids) if (cluster.node(id).process) await cluster.kill(id)
  const logs = await Promise.all(replicas.map((id) => readReplica(cluster.node(id), topic, partition)))
  const divergences: string[] = []
  for (const other of logs.slice(1)) {
    const d = firstDivergence(logs[0]!, other)
    if (d !== null) divergences.push(d)
  }
  return { logEnds: Object.fromEntries(logs.map((l) => [l.node, l.logEndOffset])), batches: logs[0]!.batches.length, divergences }
}

/** The history anomalies a power loss of a majority of the ISR explains: acknowledged or read records at or above the offset the elected replica's log was cut to. */
const LOSS_KINDS = new Set(['lost-write', 'inconsistent-offset', 'vanished-read'])

/**
 * Splits the checker's anomalies into those a simulated loss explains (lost-write, inconsistent-offset, vanished-read
 * at an offset ≥ lossFrom[partition]) and every other one (any kind below that offset, and every kind a loss does not
 * explain: duplicates, gaps, reordering, unexpected or aborted reads, consumer skips, two leaders in one epoch, …).
 */
export function splitByLoss<A extends { kind: string }>(anomalies: readonly A[], lossFrom: Readonly<Record<number, number>>): { explained: A[]; violations: A[] } {
  const explained: A[] = []
  const violations: A[] = []
  for (const a of anomalies) {
    const at = a as { partition?: number; offset?: number }
    const from = at.partition === undefined ? undefined : lossFrom[at.partition]
    if (LOSS_KINDS.has(a.kind) && from !== undefined && at.offset !== undefined && at.offset >= from) explained.push(a)
    else violations.push(a)
  }
  return { explained, violations }
}
