/**
 * @module The group coordinator's port onto its broker (groups/coordinator-ports.ts), built from the Broker's public
 * operations only: metadata for the offsets topic's leaders and other topics' sizes, the local replica for loading,
 * produce with acks all for appends, resignations for unloading. Single node and cluster alike.
 */
import { SamsaError } from '@samsa/shared'
import type { CoordinatorPorts } from '../groups/coordinator-ports.js'
import { OFFSETS_TOPIC } from '../groups/group-partition.js'
import type { Broker } from './broker.js'
import type { BrokerConfig } from './broker-config.js'


export function brokerGroupPorts(broker: Broker, config: BrokerConfig): CoordinatorPorts {
  const topicMeta = (topic: string) => {
    const t = broker.metadata([topic]).topics[0]
    return t && t.errorCode === 0 ? t : null
  }
  return {
    clock: broker.clock,
    logger: broker.logger,
    metrics: broker.metrics,
    settings: config,
    offsetsTopicPartitions: () => topicMeta(OFFSETS_TOPIC)?.partitions.length ?? null,
    createOffsetsTopic: async (partitions, replicationFactor) => {
      const live = broker.metadata([]).brokers.length
      const opts = { configs: { 'cleanup.policy': 'compact' }, ...(broker.clustered ? { replicationFactor: Math.max(1, Math.min(replicationFactor, live)) } : {}) }
      await broker.createTopic(OFFSETS_TOPIC, partitions, opts).catch((e: unknown) => {
        if (!(e instanceof SamsaError && e.code === 36)) throw e // TOPIC_ALREADY_EXISTS: another broker created it
      })
    },
    leaderOf: (partition) => {
      const meta = broker.metadata([OFFSETS_TOPIC])
      const leader = meta.topics[0]?.partitions.find((p) => p.partition === partition)?.leader
      const b = meta.brokers.find((x) => x.brokerId === leader)
      return b ? { brokerId: b.brokerId, url: b.url } : null
    },
    leaderEpoch: (partition) => {
      try {
        return broker.partition(OFFSETS_TOPIC, partition).leaderEpoch
      } catch {
        return null
      }
    },
    localRange: (partition) => broker.localReplica(OFFSETS_TOPIC, partition),
    readLocal: (partition, offset, maxBytes) => broker.localReplica(OFFSETS_TOPIC, partition).readForReplica(offset, maxBytes),
    append: async (partition, batch) => {
      await broker.produce({ topic: OFFSETS_TOPIC, partition, acks: -1, timeoutMs: config.requestTimeoutMs, batch })
    },
    onResigned: (listener) => broker.onResigned((r) => r.topic === OFFSETS_TOPIC && listener(r.partition)),
    partitionCount: (topic) => topicMeta(topic)?.partitions.length ?? null,
    // This broker's replica, when it holds one (a follower's high watermark trails its leader's by a fetch at most).
    partitionOffsets: (topic, partition) => {
      try {
        const log = broker.localReplica(topic, partition)
        return { logStartOffset: log.logStartOffset, highWatermark: log.highWatermark }
      } catch {
        return null
      }
    },
  }
}
