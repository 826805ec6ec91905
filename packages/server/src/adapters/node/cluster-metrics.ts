/**
 * @module Prometheus gauges of a cluster node (prom-client, read at scrape time): the metadata it applied, whether
 * the controller fences it, brokers by state, and for the partitions this broker leads their ISR size, how many are
 * under-replicated (ISR smaller than the replica set), how many leaderships it has taken, and the clients' leader
 * watches it holds. The controller quorum's
 * own gauges (term, leader, commit index) are in controller-node.ts.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { ClusterNode } from '../../cluster/cluster-node.js'
import type { MetadataNode } from '../../controller/metadata-node.js'
import type { MetadataView } from '../../controller/metadata-view.js'
import type { ReplicaManager } from '../../replication/replica-manager.js'

export function registerClusterMetrics(registry: Registry, metadata: MetadataView, member: ClusterNode, replicas: ReplicaManager, voter: MetadataNode | null): void {
  const registers = [registry]
  if (voter) new Gauge({ name: 'samsa_metadata_fetches_waiting', help: 'Broker-only nodes\' metadata log fetches this controller voter holds now', registers, collect() { this.set(voter.metadataFetchesWaiting) } })
  new Gauge({ name: 'samsa_metadata_offset', help: 'The offset (controller log index) of the last metadata batch applied on this node', registers, collect() { this.set(metadata.image.offset) } })
  new Gauge({ name: 'samsa_broker_fenced', help: '1 while the controller holds this broker fenced (not registered yet, or its session expired)', registers, collect() { this.set(member.lifecycle.state().fenced ? 1 : 0) } })
  new Gauge({ name: 'samsa_metadata_waits', help: 'Leader watches (metadata requests with a wait) this broker holds now', registers, collect() { this.set(member.metadataWaits.size) } })
  new Gauge({
    name: 'samsa_cluster_brokers',
    help: 'Registered brokers in the metadata image, by state',
    labelNames: ['state'],
    registers,
    collect() {
      const all = [...metadata.image.brokers.values()]
      this.set({ state: 'fenced' }, all.filter((b) => b.fenced).length)
      this.set({ state: 'unfenced' }, all.filter((b) => !b.fenced).length)
    },
  })
  new Gauge({
    name: 'samsa_partition_isr_size',
    help: 'In-sync replicas of each partition this broker leads',
    labelNames: ['topic', 'partition'],
    registers,
    collect() {
      this.reset()
      for (const l of replicas.leaderships()) this.set({ topic: l.topic, partition: String(l.partition) }, l.isr.length)
    },
  })
  new Gauge({
    name: 'samsa_under_replicated_partitions',
    help: 'Partitions this broker leads whose ISR is smaller than their replica set',
    registers,
    collect() {
      let n = 0
      for (const l of replicas.leaderships()) if (l.isr.length < l.replicas) n++
      this.set(n)
    },
  })
  new Counter({
    name: 'samsa_leader_elections_total',
    help: 'Times this broker became the leader of a partition (each leader change that lands here)',
    registers,
    collect() {
      this.reset()
      this.inc(replicas.leaderElections)
    },
  })
}
