/**
 * @module Damage in place on a stopped node's disk (bit rot, a bad sector): one byte of a committed batch in the node's
 * partition segment is flipped, inside the part its CRC covers, so the batch keeps its length and the batches after it
 * stay intact. Recovery cannot take that for a torn write: a replica cuts its log there, sets the rest aside and
 * fetches it again from its leader (log-recovery.ts). Next to power-loss.ts, which models the other way a restarted
 * node comes back short.
 */
import { batchLastOffset } from '@samsa/shared'
import { batchesIn, damageBatch, type OnDiskBatch } from '../../support/raw-log.js'
import type { ClusterNode } from './cluster.js'
import { segmentFiles } from './power-loss.js'

export interface DiskDamage {
  readonly node: number
  readonly segment: string
  readonly batch: OnDiskBatch
  /** Offsets of the damaged batch. */
  readonly firstOffset: number
  readonly lastOffset: number
  /** Whole batches after it in the same segment (intact). */
  readonly intactAfter: number
}

/**
 * Flips a byte in a batch of the killed (or, with `running`, the running) node's active segment, chosen by `choose` among the batches that end below
 * `below` (e.g. the high watermark before the kill: committed) and have at least one batch after them.
 */
export async function damageCommittedBatch(node: ClusterNode, topic: string, partition: number, below: number, choose: (candidates: number) => number, opts: { running?: boolean } = {}): Promise<DiskDamage> {
  // Under a running node the byte is flipped in place beside its writes (bit rot it finds only when it reads the batch).
  if (node.process && !opts.running) throw new Error(`node ${node.id} is running: damage its disk once it is killed`)
  const segment = (await segmentFiles(node, topic, partition)).at(-1)
  if (!segment) throw new Error(`node ${node.id} has no segment of ${topic}/${partition}`)
  const batches = await batchesIn(segment)
  const candidates = batches.slice(0, -1).filter((b) => batchLastOffset(b.header) < below).length
  if (candidates === 0) throw new Error(`node ${node.id}: no committed batch below offset ${below} with a batch after it in ${segment}`)
  const index = Math.min(candidates - 1, Math.max(0, choose(candidates)))
  const batch = await damageBatch(segment, index)
  return { node: node.id, segment, batch, firstOffset: batch.header.baseOffset, lastOffset: batchLastOffset(batch.header), intactAfter: batches.length - 1 - index }
}
