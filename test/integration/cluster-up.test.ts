/**
 * `samsa cluster up` end to end, from the BUILT dist (`npm run build` first): a real CLI process runs a 3-node
 * cluster on consecutive free ports, prints each node's URL and a ready line once every broker is unfenced, serves
 * `cluster status` from any node, creates a replication-factor-3 topic whose `topics describe` shows three replicas
 * in the ISR, produces and consumes through different nodes, and stops on SIGTERM with exit 0, each node's data in
 * `<data>/<id>`.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { killAll, runCli, spawnCli } from '../support/child-broker.js'
import { freeConsecutivePorts, listen } from '../support/free-ports.js'
import { until } from '../support/until.js'

const dirs: string[] = []
afterAll(async () => {
  await killAll()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

interface StatusJson {
  leaderId: number | null
  nodes: { id: number; url: string; fenced: boolean; registered: boolean }[]
}

describe('samsa cluster up', () => {
  it('runs three nodes, is ready once all are unfenced, answers cluster status from any node, and stops cleanly on SIGTERM', async () => {
    const data = await mkdtemp(join(tmpdir(), 'samsa-cluster-up-'))
    dirs.push(data)
    const base = await freeConsecutivePorts(3)
    const { proc, exited } = spawnCli(['cluster', 'up', '--nodes', '3', '--host', '127.0.0.1', '--base-port', String(base), '--session-timeout-ms', '1500', '--data', data, '--log-format', 'json', '--log-level', 'info'])
    let stdout = ''
    let stderr = ''
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
    void exited.then((e) => (exit = e))
    proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')))

    const urls = [0, 1, 2].map((i) => `ws://127.0.0.1:${base + i}`)
    await until(() => {
      if (exit) throw new Error(`cluster up exited ${JSON.stringify(exit)}; stdout: ${stdout}; stderr: ${stderr}`)
      return /^cluster ready: 3 nodes, controller leader [123] \(term \d+\)/m.test(stdout)
    }, { timeoutMs: 60_000, what: `the ready line; stdout so far: ${stdout}` })
    for (const [i, url] of urls.entries()) expect(stdout).toContain(`node ${i + 1}: ${url}`)
    for (const id of [1, 2, 3]) expect(existsSync(join(data, String(id))), `data dir ${id}`).toBe(true)

    // Any node of the list answers; the first one given here is a port nothing listens on.
    const status = await runCli(['cluster', 'status', '--json', '--broker', `ws://127.0.0.1:1,${urls[1]},${urls[2]}`])
    expect(status.code, status.stderr).toBe(0)
    const view = JSON.parse(status.stdout) as StatusJson
    expect(view.nodes.map((n) => [n.id, n.url, n.registered, n.fenced])).toEqual(urls.map((u, i) => [i + 1, u, true, false]))
    expect([1, 2, 3]).toContain(view.leaderId)

    // A replicated topic through any node: every partition has three replicas, all in the ISR.
    const any = `${urls[2]},${urls[0]}`
    const created = await runCli(['topics', 'create', 'orders', '--partitions', '6', '--replication-factor', '3', '--min-insync-replicas', '2', '--broker', any])
    expect(created.code, created.stderr).toBe(0)
    expect(created.stdout).toBe('created topic orders with 6 partitions, replication factor 3\n')
    const rows = await until(async () => {
      const d = await runCli(['topics', 'describe', 'orders', '--broker', urls[1]!])
      expect(d.code, d.stderr).toBe(0)
      const lines = d.stdout.trim().split('\n')
      expect(lines[1]).toBe('partition\tleader\tleaderEpoch\tlogStartOffset\thighWatermark\tlogEndOffset\treplicas\tisr')
      const r = lines.slice(2).map((l) => l.split('\t'))
      return r.length === 6 && r.every((x) => x[6]!.split(',').length === 3 && x[7]!.split(',').length === 3) ? r : null
    }, { timeoutMs: 20_000, what: 'six partitions with three replicas in the ISR' })
    for (const r of rows) expect(r[6]!.split(',')).toContain(r[1])

    // Produce through one node, consume through another: the clients follow the partitions' leaders.
    const produced = await runCli(['produce', 'orders', '--acks', 'all', '--broker', urls[2]!], { input: 'a\nb\nc\n', timeoutMs: 30_000 })
    expect(produced.code, produced.stderr).toBe(0)
    const consumed = await runCli(['consume', 'orders', '--max', '3', '--timeout-ms', '15000', '--broker', urls[0]!], { timeoutMs: 30_000 })
    expect(consumed.code, consumed.stderr).toBe(0)
    expect(consumed.stdout.trim().split('\n').sort()).toEqual(['a', 'b', 'c'])
    const refused = await runCli(['topics', 'create', 'x', '--min-insync-replicas', '2', '--broker', urls[0]!])
    expect([refused.code, refused.stderr]).toEqual([1, 'samsa: --min-insync-replicas needs --replication-factor\n'])
    const tooMany = await runCli(['topics', 'create', 'x', '--replication-factor', '4', '--broker', urls[0]!])
    expect(tooMany.code).toBe(1)
    expect(tooMany.stderr).toMatch(/^samsa: INVALID_REPLICATION_FACTOR: replication factor must be an integer in 1\.\.3/)

    proc.kill('SIGTERM')
    const how = await until(() => exit, { timeoutMs: 30_000, what: 'cluster up to exit after SIGTERM' })
    expect(how, stderr).toEqual({ code: 0, signal: null })
    // Controlled shutdowns while the nodes still running are a controller majority (2 of 3), the active controller last.
    const stops = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; node?: number; controlled?: boolean }).filter((l) => l.msg === 'stopping node')
    expect(stops.map((l) => l.controlled)).toEqual([true, true, false])
    expect(new Set(stops.map((l) => l.node))).toEqual(new Set([1, 2, 3]))
    // Every node let go of its port and its data-directory lock.
    for (const port of [base, base + 1, base + 2]) {
      const s = await listen(port)
      expect(s, `port ${port} free again`).not.toBeNull()
      await new Promise((r) => s!.close(r))
    }
  }, 120_000)

  it('with --voters 1 runs nodes 2 and 3 as broker-only nodes, shown as brokers, and stops them before the voter', async () => {
    const data = await mkdtemp(join(tmpdir(), 'samsa-cluster-up-voters-'))
    dirs.push(data)
    const base = await freeConsecutivePorts(3)
    const { proc, exited } = spawnCli(['cluster', 'up', '--nodes', '3', '--voters', '1', '--host', '127.0.0.1', '--base-port', String(base), '--session-timeout-ms', '1500', '--data', data, '--log-format', 'json', '--log-level', 'info'])
    let stdout = ''
    let stderr = ''
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
    void exited.then((e) => (exit = e))
    proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
    await until(() => {
      if (exit) throw new Error(`cluster up exited ${JSON.stringify(exit)}; stdout: ${stdout}; stderr: ${stderr}`)
      return /^cluster ready: 3 nodes \(1 voter\), controller leader 1 \(term \d+\)/m.test(stdout)
    }, { timeoutMs: 60_000, what: `the ready line; stdout so far: ${stdout}` })
    expect(stdout).toContain(`node 2: ws://127.0.0.1:${base + 1}  (broker-only, http://`)
    expect(stdout).toContain(`node 3: ws://127.0.0.1:${base + 2}  (broker-only, http://`)
    const status = await runCli(['cluster', 'status', '--json', '--broker', `ws://127.0.0.1:${base + 2}`])
    expect(status.code, status.stderr).toBe(0)
    const view = JSON.parse(status.stdout) as { role: string; nodes: { id: number; role: string; fenced: boolean }[] }
    expect(view.role).toBe('broker')
    expect(view.nodes.map((n) => [n.id, n.role, n.fenced])).toEqual([[1, 'controller leader', false], [2, 'broker', false], [3, 'broker', false]])

    proc.kill('SIGTERM')
    const how = await until(() => exit, { timeoutMs: 30_000, what: 'cluster up to exit after SIGTERM' })
    expect(how, stderr).toEqual({ code: 0, signal: null })
    // The broker-only nodes stop first, controlled (the one voter is the quorum), the voter last.
    const stops = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; node?: number; controlled?: boolean }).filter((l) => l.msg === 'stopping node')
    expect(stops.map((l) => l.node).at(-1)).toBe(1)
    expect(stops.map((l) => l.controlled)).toEqual([true, true, true])
    const tooMany = await runCli(['cluster', 'up', '--nodes', '2', '--voters', '3', '--data', join(tmpdir(), 'samsa-never-created')])
    expect([tooMany.code, tooMany.stderr]).toEqual([1, 'samsa: --voters 3 is more than --nodes 2\n'])
  }, 120_000)

  it('refuses a port range past 65535 with one line, before starting anything', async () => {
    const r = await runCli(['cluster', 'up', '--nodes', '3', '--base-port', '65534', '--data', join(tmpdir(), 'samsa-never-created')])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('samsa: --base-port 65534 with --nodes 3 goes past port 65535\n')
    expect(existsSync(join(tmpdir(), 'samsa-never-created'))).toBe(false)
  })

  it('refuses --host 0.0.0.0 (no address to reach a node at) and a session timeout out of range, with one line each', async () => {
    const wildcard = await runCli(['cluster', 'up', '--host', '0.0.0.0', '--data', join(tmpdir(), 'samsa-never-created')])
    expect(wildcard.code).toBe(1)
    expect(wildcard.stderr).toBe("samsa: --host 0.0.0.0 binds every interface but is no address to reach a node at: give the machine's address or name\n")
    const timeout = await runCli(['cluster', 'up', '--session-timeout-ms', '5', '--data', join(tmpdir(), 'samsa-never-created')])
    expect(timeout.code).toBe(1)
    expect(timeout.stderr).toMatch(/^samsa: .*--session-timeout-ms.*\n$/)
    expect(existsSync(join(tmpdir(), 'samsa-never-created'))).toBe(false)
  })
})
