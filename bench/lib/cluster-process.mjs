// Starts a local Samsa cluster: N combined-mode nodes (controller + broker), each `samsa start --node-id I
// --controllers 1@127.0.0.1:P1,… --port PI --data <tmp>/I` as its own child process of the built bin, on free ports.
// Every node is stopped (SIGTERM, then SIGKILL) and the temp dir removed afterwards, whatever happens.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exchanges } from '@samsa/shared'
import { samsaBin } from './broker-process.mjs'
import { spawnNode, stopChild } from './child-process.mjs'
import { rawRequest } from './raw-request.mjs'
import { sleep } from './stats.mjs'

/** Ports free on 127.0.0.1 right now (listened on with port 0, then released). */
async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => resolve(s))
  })))
  const ports = servers.map((s) => s.address().port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

/** Polls `probe()` every stepMs until it returns a value (not undefined/null/false); throws with `what` and the last error after timeoutMs. */
export async function pollUntil(probe, { timeoutMs, what, stepMs = 100 }) {
  const deadline = performance.now() + timeoutMs
  let lastError = null
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined && v !== null && v !== false) return v
    } catch (err) {
      lastError = err
    }
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}`)
    await sleep(stepMs)
  }
}

/**
 * Runs `fn(cluster)` against a fresh N-node cluster once every node is registered (metadata lists N brokers).
 * cluster: { nodes: [{ id, wsUrl, httpUrl, child, lines }], bootstrapUrl, pids, lines(), waitReplicated(name, replicationFactor) }
 * opts: { nodes = 3, fsync, nodeArgs, logLevel, pinCpu, readyTimeoutMs = 60_000 }
 */
export async function withCluster(opts, fn) {
  const count = opts.nodes ?? 3
  const root = await mkdtemp(join(tmpdir(), 'samsa-bench-cluster-'))
  const nodes = []
  try {
    const ports = await freePorts(count)
    const controllers = ports.map((port, i) => `${i + 1}@127.0.0.1:${port}`).join(',')
    const started = await Promise.allSettled(ports.map(async (port, i) => {
      const id = i + 1
      const dataDir = join(root, String(id))
      await mkdir(dataDir)
      const args = [
        ...(opts.nodeArgs ?? []),
        samsaBin, 'start',
        '--node-id', String(id),
        '--controllers', controllers,
        '--host', '127.0.0.1',
        '--port', String(port),
        '--data', dataDir,
        '--log-format', 'json',
        '--log-level', opts.logLevel ?? 'info',
        '--fsync', opts.fsync ?? 'always',
      ]
      const node = await spawnNode(args, {
        pinCpu: opts.pinCpu,
        timeoutMs: 20_000,
        isReady: (line) => {
          if (!line.startsWith('{')) return undefined
          const entry = JSON.parse(line)
          return entry.msg === 'broker listening' && typeof entry.url === 'string' ? entry.url : undefined
        },
      })
      nodes.push({ id, httpUrl: node.ready, wsUrl: node.ready.replace(/^http/, 'ws'), child: node.child, lines: node.lines })
    }))
    const failed = started.find((s) => s.status === 'rejected')
    if (failed) throw failed.reason
    nodes.sort((a, b) => a.id - b.id)
    const bootstrapUrl = nodes[0].wsUrl
    const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000
    await pollUntil(async () => (await rawRequest(bootstrapUrl, exchanges.metadata, { topics: [] })).brokers.length === count, {
      timeoutMs: readyTimeoutMs, what: `${count} registered brokers in the metadata of node 1`,
    })
    const lastLines = (n = 10) => nodes.map((node) => `node ${node.id}:\n${node.lines.slice(-n).join('\n')}`).join('\n')
    return await fn({
      nodes,
      bootstrapUrl,
      pids: nodes.map((n) => n.child.pid),
      lastLines,
      /**
       * Waits until the topic's partitions have a leader and the whole replica set in the ISR (after a create through
       * the SDK's admin.createTopic with a replication factor). Returns the metadata of partition 0 and the leader node.
       */
      async waitReplicated(name, replicationFactor = count) {
        const p = await pollUntil(async () => {
          const md = await rawRequest(bootstrapUrl, exchanges.metadata, { topics: [name] })
          const t = md.topics[0]
          if (t?.errorCode !== 0) return undefined
          const all = t.partitions.every((q) => q.leader > 0 && q.replicas?.length === replicationFactor && q.isr?.length === replicationFactor)
          return all ? t.partitions[0] : undefined
        }, { timeoutMs: readyTimeoutMs, what: `${name}: a leader and all ${replicationFactor} replicas in the ISR` })
        return { partition: p, leaderNode: nodes.find((n) => n.id === p.leader) }
      },
    })
  } finally {
    // All at once: a controlled shutdown hands leadership to a live node, so the last ones may need the SIGKILL.
    await Promise.all(nodes.map((n) => stopChild(n.child, 10_000)))
    await rm(root, { recursive: true, force: true })
  }
}
