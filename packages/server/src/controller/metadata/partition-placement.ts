/**
 * @module Replica placement, rack-unaware, as Kafka's AdminUtils.assignReplicasToBrokersRackUnaware: partition p's
 * first replica is broker (p + startIndex) mod n, and its followers follow it at a shift that grows by one every n
 * partitions, so leaders spread evenly and so do the followers of each leader.
 */

export interface PlacementArgs {
  readonly partitions: number
  readonly replicationFactor: number
  /** The candidate brokers; placed in ascending order. replicationFactor ≤ brokerIds.length. */
  readonly brokerIds: readonly number[]
  /** Kafka picks these at random, so topics do not all start on the lowest broker; 0 ≤ x < brokerIds.length. */
  readonly startIndex: number
  readonly replicaShift: number
}

/** replicas[p] for each partition p: distinct brokers, the preferred leader first. */
export function placeReplicas(args: PlacementArgs): number[][] {
  const brokers = [...args.brokerIds].sort((a, b) => a - b)
  const n = brokers.length
  if (args.replicationFactor < 1 || args.replicationFactor > n) throw new RangeError(`replication factor ${args.replicationFactor} with ${n} brokers`)
  const out: number[][] = []
  let shift = args.replicaShift
  for (let p = 0; p < args.partitions; p++) {
    if (p > 0 && p % n === 0) shift += 1
    const first = (p + args.startIndex) % n
    const replicas = [brokers[first]!]
    for (let j = 0; j < args.replicationFactor - 1; j++) replicas.push(brokers[followerIndex(first, shift, j, n)]!)
    out.push(replicas)
  }
  return out
}

function followerIndex(first: number, shift: number, j: number, n: number): number {
  return (first + 1 + ((shift + j) % (n - 1))) % n
}
