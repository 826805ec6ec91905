/**
 * @module Leader elections as partition changes, Kafka's rules with unclean election off: a new leader is always
 * a member of the current ISR that is registered and unfenced, the first such in replica order; when there is none
 * the partition goes offline (leader NO_LEADER) and keeps its ISR, so only a replica that holds every committed
 * record can lead it again. The ISR is emptied only when its last member reports its replica incomplete (committed
 * records damaged or missing, at registration or in a heartbeat): then no replica is known to hold them all, and the partition
 * stays offline rather than elect one that would serve a shorter log (KIP-966's direction; no unclean election).
 * Every leader change bumps the leader epoch, every change the partition epoch.
 */
import { allPartitions, applyRecord, type MetadataImage, type PartitionRegistration } from './metadata-image.js'
import { NO_LEADER, type MetadataRecord, type PartitionChangeRecord } from './metadata-records.js'

function isUnfenced(image: MetadataImage, brokerId: number): boolean {
  return image.brokers.get(brokerId)?.fenced === false
}

function change(topic: string, partition: number, prev: PartitionRegistration, next: { leader: number; isr: readonly number[] }): PartitionChangeRecord {
  return {
    type: 'partitionChange',
    topic,
    partition,
    leader: next.leader,
    leaderEpoch: next.leader === prev.leader ? prev.leaderEpoch : prev.leaderEpoch + 1,
    replicas: prev.replicas,
    isr: next.isr,
    partitionEpoch: prev.partitionEpoch + 1,
  }
}

/**
 * The changes that take `brokerId` out of service (fenced, shut down, unregistered): a new leader from the rest
 * of the ISR for each partition it leads, and its removal from the ISR of each partition it follows. Apply them
 * before the fenceBroker record (the image refuses to fence a broker that still leads).
 */
export function changesForLeavingBroker(image: MetadataImage, brokerId: number): PartitionChangeRecord[] {
  const out: PartitionChangeRecord[] = []
  for (const { topic, partition, registration: p } of allPartitions(image)) {
    if (!p.isr.includes(brokerId)) continue
    const rest = p.isr.filter((r) => r !== brokerId)
    if (p.leader === brokerId) {
      const leader = p.replicas.find((r) => rest.includes(r) && isUnfenced(image, r)) ?? NO_LEADER
      // Offline with an empty rest: the ISR keeps its last member, the only replica known to hold every committed record.
      out.push(change(topic.name, partition, p, { leader, isr: rest.length > 0 ? rest : p.isr }))
    } else if (p.leader !== NO_LEADER) {
      out.push(change(topic.name, partition, p, { leader: p.leader, isr: rest }))
    }
  }
  return out
}

/**
 * Elections for offline partitions whose ISR now has an unfenced member (after an unfenceBroker). Fenced members
 * leave the ISR with the election, so a live leader's ISR holds only live brokers.
 */
export function changesForOfflinePartitions(image: MetadataImage): PartitionChangeRecord[] {
  const out: PartitionChangeRecord[] = []
  for (const { topic, partition, registration: p } of allPartitions(image)) {
    if (p.leader !== NO_LEADER) continue
    const leader = p.replicas.find((r) => p.isr.includes(r) && isUnfenced(image, r))
    if (leader === undefined) continue
    out.push(change(topic.name, partition, p, { leader, isr: p.isr.filter((r) => isUnfenced(image, r)) }))
  }
  return out
}

/**
 * A broker's replicas that came back incomplete (named at registration, or in a heartbeat once a read found one
 * damaged and recovery cut it): it leaves each one's ISR, emptying it when it was the last member. Where it led, the
 * first unfenced replica (in replica order) of the rest of the ISR leads at a new leader epoch; with none the
 * partition goes offline. Partitions it is not in the ISR of, or that no longer exist, need nothing. It rejoins an
 * ISR only as any follower does: its leader adds it once it has caught up.
 */
export function changesForIncompleteReplicas(image: MetadataImage, brokerId: number, replicas: readonly { readonly topic: string; readonly partition: number }[]): PartitionChangeRecord[] {
  const out: PartitionChangeRecord[] = []
  const seen = new Set<string>()
  for (const { topic, partition } of replicas) {
    const p = image.topics.get(topic)?.partitions[partition]
    const key = `${topic}\u0000${partition}`
    if (!p || seen.has(key) || !p.isr.includes(brokerId)) continue
    seen.add(key)
    const isr = p.isr.filter((r) => r !== brokerId)
    const leader = p.leader !== brokerId ? p.leader : (p.replicas.find((r) => isr.includes(r) && isUnfenced(image, r)) ?? NO_LEADER)
    out.push(change(topic, partition, p, { leader, isr }))
  }
  return out
}

/** Moves leadership back to each partition's preferred replica (replicas[0]) where it is in the ISR and unfenced. */
export function changesForPreferredLeaders(image: MetadataImage): PartitionChangeRecord[] {
  const out: PartitionChangeRecord[] = []
  for (const { topic, partition, registration: p } of allPartitions(image)) {
    const preferred = p.replicas[0]!
    if (p.leader === preferred || !p.isr.includes(preferred) || !isUnfenced(image, preferred)) continue
    const isr = p.leader === NO_LEADER ? p.isr.filter((r) => isUnfenced(image, r)) : p.isr
    out.push(change(topic.name, partition, p, { leader: preferred, isr }))
  }
  return out
}

/** The records that fence an unfenced broker: its partition changes, then fenceBroker. */
export function fenceRecords(image: MetadataImage, brokerId: number): MetadataRecord[] {
  const b = image.brokers.get(brokerId)
  if (!b || b.fenced) return []
  return [...changesForLeavingBroker(image, brokerId), { type: 'fenceBroker', brokerId, brokerEpoch: b.brokerEpoch }]
}

/** The records that unfence a fenced broker: unfenceBroker, then the offline partitions it can now lead. */
export function unfenceRecords(image: MetadataImage, brokerId: number): MetadataRecord[] {
  const b = image.brokers.get(brokerId)
  if (!b || !b.fenced) return []
  const unfence: MetadataRecord = { type: 'unfenceBroker', brokerId, brokerEpoch: b.brokerEpoch }
  return [unfence, ...changesForOfflinePartitions(provisional(image, [unfence]))]
}

/**
 * The image after `records`, for deciding the next records of the same proposal. Its offsets are provisional
 * (the records are applied at the image's own offset); only the committed log assigns real ones.
 */
export function provisional(image: MetadataImage, records: readonly MetadataRecord[]): MetadataImage {
  const at = Math.max(image.offset, 0)
  return records.reduce((img, r) => applyRecord(img, r, at), image)
}
