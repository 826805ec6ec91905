/** @module A partition log's settings (segment size, index interval, retention, fsync policy) and their defaults. */

export interface PartitionLogConfig {
  /** Roll before the active segment would exceed it; a batch larger than it still gets its own segment. */
  segmentBytes: number
  indexIntervalBytes: number
  /** null = keep forever. */
  retentionMs: number | null
  /** Per partition; null = no limit. */
  retentionBytes: number | null
  /** 'always' acknowledges after an fsync covering the batch (group commit); the others after the write (opt-in, weaker). */
  fsync: 'always' | 'interval' | 'never'
  fsyncIntervalMs: number
}

export const defaultPartitionLogConfig: PartitionLogConfig = {
  segmentBytes: 64 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: null,
  retentionBytes: null,
  fsync: 'always',
  fsyncIntervalMs: 1000,
}
