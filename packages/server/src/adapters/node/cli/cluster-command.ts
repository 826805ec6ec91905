/** @module `samsa cluster status [--json]`: the cluster as one node sees it, from its /v1/cluster. */
import type { Command } from 'commander'
import { brokerOption } from './broker-option.js'
import { CliError } from './cli-error.js'
import { registerClusterUp } from './cluster-up-command.js'

interface ClusterNodeView {
  id: number
  url: string | null
  role: string
  fenced: boolean
  registered: boolean
  lastHeartbeatAgoMs: number | null
}

interface ClusterView {
  nodeId: number
  role: string
  term: number | null
  leaderId: number | null
  commitIndex: number | null
  metadataOffset?: number
  nodes?: ClusterNodeView[]
}

/** ws://host:port → http://host:port/v1/cluster (wss → https). */
export function clusterStatusUrl(brokerUrl: string): string {
  const u = new URL(brokerUrl.trim())
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:' && u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(`--broker ${brokerUrl}: expected ws://host:port`)
  u.protocol = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:'
  u.pathname = '/v1/cluster'
  return u.toString()
}

/** The first node of the comma-separated list that answers. */
async function fetchStatus(brokers: string): Promise<ClusterView> {
  const failures: string[] = []
  for (const b of brokers.split(',').filter((x) => x.trim() !== '')) {
    try {
      const res = await fetch(clusterStatusUrl(b), { signal: AbortSignal.timeout(5_000) })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      return (await res.json()) as ClusterView
    } catch (e) {
      if (e instanceof CliError) throw e
      failures.push(`${b.trim()}: ${(e as Error).message}`)
    }
  }
  throw new CliError(`no node answered: ${failures.join('; ')}`)
}

export function formatClusterStatus(v: ClusterView): string {
  if (v.role === 'standalone') return `single node ${v.nodeId} (no controller quorum)\n`
  const lines = [`controller leader: ${v.leaderId ?? 'none'}  term: ${v.term}  metadata offset: ${v.metadataOffset ?? 'n/a'}  (as seen by node ${v.nodeId})`]
  lines.push(['node', 'url', 'role', 'fenced', 'last heartbeat'].join('\t'))
  for (const n of v.nodes ?? []) {
    const fenced = n.registered ? (n.fenced ? 'yes' : 'no') : 'unregistered'
    const heartbeat = n.lastHeartbeatAgoMs === null ? '-' : `${n.lastHeartbeatAgoMs} ms ago`
    lines.push([n.id, n.url ?? '-', n.role, fenced, heartbeat].join('\t'))
  }
  return `${lines.join('\n')}\n`
}

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('run a local development cluster, inspect a cluster')
  registerClusterUp(cluster)
  cluster
    .command('status')
    .description('nodes (id, URL, role, fenced, last heartbeat), the controller leader and term, the metadata offset')
    .addOption(brokerOption())
    .option('--json', 'print JSON')
    .action(async (o: { broker: string; json?: boolean }) => {
      const v = await fetchStatus(o.broker)
      process.stdout.write(o.json ? `${JSON.stringify(v)}\n` : formatClusterStatus(v))
    })
}
