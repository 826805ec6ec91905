/** @module The admin calls' option checks (types and wire ranges; the broker decides what its cluster allows). */
import { checkShape, integer, invalidArgument, isPlainObject, optional, type Rule } from './check.js'

/** Largest value of the createTopic request's i16 replication fields. */
const I16_MAX = 0x7fff

export interface CreateTopicOptions {
  /** Default 1. */
  readonly partitions?: number
  /** Replicas per partition, on distinct brokers. Default: the cluster's (every live broker, up to 3); 1 on a single node. */
  readonly replicationFactor?: number
  /** ISR members acks=all needs; at most replicationFactor. Default: 2 for three or more replicas, else 1. */
  readonly minInsyncReplicas?: number
  /** Per-topic configs by Kafka's names: `cleanup.policy` (delete | compact | compact,delete), `delete.retention.ms`. The broker checks them (INVALID_CONFIG). */
  readonly configs?: Readonly<Record<string, string>>
}

/** A map of string values (names and values are the broker's to check). */
const stringMap: Rule = (v) => (isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string') ? undefined : 'an object of string values, e.g. { "cleanup.policy": "compact" }')

/** Checks createTopic's options; minInsyncReplicas travels only with replicationFactor (the request's optional tail). */
export function checkCreateTopicOptions(call: string, opts: unknown): CreateTopicOptions {
  const o = checkShape(call, 'options', opts, {
    partitions: optional(integer(1)),
    replicationFactor: optional(integer(1, I16_MAX)),
    minInsyncReplicas: optional(integer(1, I16_MAX)),
    configs: optional(stringMap),
  }) as CreateTopicOptions
  if (o.minInsyncReplicas !== undefined && o.replicationFactor === undefined) {
    invalidArgument(call, 'options.replicationFactor', 'given with options.minInsyncReplicas; name both, e.g. { replicationFactor: 3, minInsyncReplicas: 2 }', undefined)
  }
  return o
}
