/** @module A partition log's settings (segment size, index interval, retention, fsync policy, recovery point, producer-id expiry) and their defaults. */

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
  /** How often the recovery point (and the producer-state snapshot in it) is written while the log grows; also on close. */
  recoveryPointIntervalMs: number
  /** An idempotent producer id with no batch appended for this long is forgotten by the partition (Kafka's producer.id.expiration.ms). */
  producerIdExpirationMs: number
}

export const defaultPartitionLogConfig: PartitionLogConfig = {
  segmentBytes: 64 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: null,
  retentionBytes: null,
  fsync: 'always',
  fsyncIntervalMs: 1000,
  recoveryPointIntervalMs: 60_000,
  // Longer than the retention of any topic is expected to be: dedupe of a resend is lost once its id expires.
  producerIdExpirationMs: 7 * 24 * 3_600_000,
}
