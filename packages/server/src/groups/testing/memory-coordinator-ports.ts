/**
 * @module CoordinatorPorts over memory, for the coordinator's unit tests: one offsets partition set whose batches
 * live in arrays (offsets assigned on append as a log would), a leader epoch per partition the test sets (null: not
 * leader), and an append that can be made to fail. Two coordinators may share one instance (a failover).
 */
import { batchLastOffset, patchBatch, readBatchHeader, SamsaError } from '@samsa/shared'
import { silentLogger, type Clock } from '../../clock.js'
import { noopMetrics } from '../../observability/broker-metrics.js'
import type { CoordinatorPorts, CoordinatorSettings } from '../coordinator-ports.js'

export class MemoryOffsetsLogs {
  readonly batches = new Map<number, Uint8Array[]>()
  readonly leaderEpochs = new Map<number, number | null>()
  readonly topics = new Map<string, number>()
  failAppends = false
  /** While set, reads (loads) wait for it. */
  readsHeld: Promise<void> | null = null
  #resignListeners = new Set<(p: number) => void>()

  constructor(readonly partitions: number) {
    for (let p = 0; p < partitions; p++) {
      this.batches.set(p, [])
      this.leaderEpochs.set(p, 0)
    }
  }

  endOffset(p: number): number {
    const last = this.batches.get(p)!.at(-1)
    return last ? batchLastOffset(readBatchHeader(last)) + 1 : 0
  }

  resign(p: number, newEpoch: number | null): void {
    this.leaderEpochs.set(p, newEpoch)
    for (const l of this.#resignListeners) l(p)
  }

  ports(clock: Clock, settings: Partial<CoordinatorSettings> = {}): CoordinatorPorts {
    return {
      clock,
      logger: silentLogger,
      metrics: noopMetrics,
      settings: { brokerId: 1, offsetsTopicPartitions: this.partitions, offsetsTopicReplicationFactor: 1, groupSessionTimeoutMs: 10_000, groupHeartbeatIntervalMs: 1_000, maxMembersPerGroup: 100, maxGroups: 100, ...settings },
      offsetsTopicPartitions: () => this.partitions,
      createOffsetsTopic: async () => {},
      leaderOf: (p) => (this.leaderEpochs.get(p) === null ? null : { brokerId: 1, url: 'ws://memory' }),
      leaderEpoch: (p) => this.leaderEpochs.get(p) ?? null,
      localRange: (p) => ({ logStartOffset: 0, logEndOffset: this.endOffset(p) }),
      readLocal: async (p, offset) => {
        if (this.readsHeld) await this.readsHeld
        const out = this.batches.get(p)!.filter((b) => batchLastOffset(readBatchHeader(b)) >= offset)
        const bytes = new Uint8Array(out.reduce((n, b) => n + b.length, 0))
        let at = 0
        for (const b of out) {
          bytes.set(b, at)
          at += b.length
        }
        return bytes
      },
      append: async (p, batch) => {
        if (this.failAppends) throw new SamsaError('KAFKA_STORAGE_ERROR', 'appends fail in this test')
        if (this.leaderEpochs.get(p) === null) throw new SamsaError('NOT_LEADER_OR_FOLLOWER')
        const copy = batch.slice()
        patchBatch(copy, 0, this.endOffset(p), this.leaderEpochs.get(p)!)
        this.batches.get(p)!.push(copy)
      },
      onResigned: (listener) => {
        this.#resignListeners.add(listener)
        return () => void this.#resignListeners.delete(listener)
      },
      partitionCount: (topic) => this.topics.get(topic) ?? null,
      partitionOffsets: () => null,
    }
  }
}
