/**
 * @module Where a group lives: the internal compacted topic `__consumer_offsets` and the rule (Kafka's) that maps a
 * group id to one of its partitions. The leader of that partition is the group's coordinator, so this mapping must
 * never change for a given partition count: every broker, and every release, computes the same partition.
 */

/** The internal topic holding groups' committed offsets, members and assignments. */
export const OFFSETS_TOPIC = '__consumer_offsets'

/** Java's String.hashCode over UTF-16 code units (32-bit wrap-around), as Kafka computes it for group ids. */
export function javaHashCode(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0
  return h
}

/** Partition of `__consumer_offsets` (of `partitions` partitions) that holds group `groupId`: abs(hashCode) % n. */
export function groupPartition(groupId: string, partitions: number): number {
  // Kafka's Utils.abs maps Integer.MIN_VALUE to 0 (Math.abs would overflow in Java).
  const h = javaHashCode(groupId)
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions
}
