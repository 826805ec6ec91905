// What a scenario runs against: one broker process (the default), or a local cluster of combined-mode nodes
// (opts.cluster = { nodes, replicationFactor, minInsyncReplicas }). Both give the scenario the same handle.
import { withBroker } from './broker-process.mjs'
import { withCluster } from './cluster-process.mjs'
import { withTimeout } from './stats.mjs'

/**
 * Runs `fn(target)`; target: {
 *   brokerUrls: URLs for the SDK's `brokers` (every node of a cluster),
 *   serverPids: the broker process id(s), for the CPU meter,
 *   lastLines(): the broker output's last lines, for error messages,
 *   createTopic(client, name): creates a one-partition topic (in a cluster with the replication factor, waiting for
 *     the full ISR) and returns { metricsUrl: the partition leader's HTTP URL, topology: null | { nodes, leader,
 *     replicationFactor, minInsyncReplicas, replicas, isr } },
 * }
 * opts: { fsync, nodeArgs, pinCpu, cluster?, brokerArgs?: more `samsa start` flags for a single broker,
 *         runtime?: what a single broker runs on (broker-process.mjs; default the node running the bench) }
 */
export async function withTarget(opts, fn) {
  if (!opts.cluster) {
    return withBroker({ fsync: opts.fsync, nodeArgs: opts.nodeArgs, pinCpu: opts.pinCpu, extraArgs: opts.brokerArgs, runtime: opts.runtime }, ({ wsUrl, httpUrl, child, lines }) => fn({
      brokerUrls: [wsUrl],
      serverPids: child.pid,
      lastLines: () => lines.slice(-10).join('\n'),
      async createTopic(client, name) {
        await withTimeout(client.admin.createTopic(name, { partitions: 1 }), 10_000, 'createTopic')
        return { metricsUrl: httpUrl, topology: null }
      },
    }))
  }
  if (opts.brokerArgs?.length) throw new Error('brokerArgs are for a single broker, not a cluster')
  if (opts.runtime && opts.runtime !== 'node') throw new Error('a cluster runs on the node running the bench only')
  const { nodes, replicationFactor, minInsyncReplicas } = opts.cluster
  return withCluster({ nodes, fsync: opts.fsync, nodeArgs: opts.nodeArgs, pinCpu: opts.pinCpu }, (cluster) => fn({
    brokerUrls: cluster.nodes.map((n) => n.wsUrl),
    serverPids: cluster.pids,
    lastLines: () => cluster.lastLines(10),
    async createTopic(client, name) {
      await withTimeout(client.admin.createTopic(name, { partitions: 1, replicationFactor, minInsyncReplicas }), 10_000, 'createTopic')
      const { partition, leaderNode } = await cluster.waitReplicated(name, replicationFactor)
      return {
        metricsUrl: leaderNode.httpUrl,
        topology: { nodes, leader: partition.leader, replicationFactor, minInsyncReplicas, replicas: partition.replicas, isr: partition.isr },
      }
    },
  }))
}
