// Consumer-group rebalance times on one broker (`--fsync never`, --group-session-timeout-ms and
// --group-heartbeat-interval-ms as given): group members are Node processes running the built SDK's group consumer
// (test/fault/support/group-member.mjs, the fault tests' member), each writing its assigned/revoked events to a file.
// Timed, per round: a member joining a group of k (spawn → every partition owned by exactly one of the k + 1, the
// newcomer included), a member leaving (SIGTERM: commit, leave → every partition owned by the others) and a member
// crashing (SIGKILL → every partition owned by the others; about one session timeout: the coordinator learns of a
// crash only when the session expires). The first join also creates the group and __consumer_offsets; it is its own row.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withBroker } from '../lib/broker-process.mjs'
import { closeClient, loadSdk, makeClient } from '../lib/sdk.mjs'

const MEMBER = fileURLToPath(new URL('../../test/fault/support/group-member.mjs', import.meta.url))

/** Partition → owners now, from the history files of the members not killed (`gone`). */
function owners(dir, topic, gone) {
  const owned = new Map()
  for (const f of readdirSync(dir)) {
    if (gone.has(f.replace(/\.jsonl$/, ''))) continue
    const mine = new Set()
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!line.endsWith('}')) continue
      const e = JSON.parse(line)
      if (e.topic !== topic && e.type !== 'stopped') continue
      if (e.type === 'assigned') mine.add(e.partition)
      else if (e.type === 'revoked') mine.delete(e.partition)
      else if (e.type === 'stopped') mine.clear()
    }
    for (const p of mine) owned.set(p, [...(owned.get(p) ?? []), f.replace(/\.jsonl$/, '')])
  }
  return owned
}

async function settled(dir, topic, partitions, members, timeoutMs, gone) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const o = owners(dir, topic, gone)
    const ok = o.size === partitions && [...o.values()].every((m) => m.length === 1 && members.includes(m[0])) && members.every((m) => [...o.values()].some((x) => x[0] === m))
    if (ok) return Date.now()
    if (Date.now() > deadline) throw new Error(`group not settled on ${members.join(', ')} within ${timeoutMs} ms: ${JSON.stringify([...o])}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

export async function groupRebalance({ partitions = 6, rounds = 1, sessionTimeoutMs = 3_000, heartbeatIntervalMs = 200, brokerNodeArgs = [], brokerCpu } = {}) {
  const topic = 'bench-groups'
  const groupId = 'bench-group'
  const dir = mkdtempSync(join(tmpdir(), 'samsa-bench-groups-'))
  const procs = new Map()
  /** Members killed with SIGKILL: their files still name the partitions they held. */
  const gone = new Set()
  const extraArgs = ['--group-session-timeout-ms', String(sessionTimeoutMs), '--group-heartbeat-interval-ms', String(heartbeatIntervalMs), '--offsets-topic-partitions', '1']
  try {
    return await withBroker({ fsync: 'never', nodeArgs: brokerNodeArgs, pinCpu: brokerCpu, extraArgs }, async ({ wsUrl }) => {
      const sdk = await loadSdk()
      const admin = makeClient(sdk, { url: wsUrl, clientId: 'bench-groups-admin' })
      await admin.admin.createTopic(topic, { partitions })
      await closeClient(admin)
      const start = (member) => {
        const config = { brokers: [wsUrl], groupId, topics: [topic], member, historyFile: join(dir, `${member}.jsonl`) }
        const child = spawn(process.execPath, [MEMBER, JSON.stringify(config)], { stdio: 'ignore' })
        procs.set(member, { child, exited: new Promise((r) => child.once('exit', r)) })
      }
      const stop = async (member, signal) => {
        const p = procs.get(member)
        p.child.kill(signal)
        if (signal === 'SIGKILL') gone.add(member)
        await p.exited
        procs.delete(member)
      }
      const rows = []
      const timeoutMs = sessionTimeoutMs + 30_000
      let t = Date.now()
      start('m0')
      rows.push({ event: 'first join (creates the group)', members: 1, ms: (await settled(dir, topic, partitions, ['m0'], timeoutMs, gone)) - t })
      let n = 1
      for (let round = 0; round < rounds; round++) {
        const a = `m${n++}`
        const b = `m${n++}`
        t = Date.now()
        start(a)
        rows.push({ event: 'join', members: 2, ms: (await settled(dir, topic, partitions, ['m0', a], timeoutMs, gone)) - t })
        t = Date.now()
        start(b)
        rows.push({ event: 'join', members: 3, ms: (await settled(dir, topic, partitions, ['m0', a, b], timeoutMs, gone)) - t })
        t = Date.now()
        await stop(a, 'SIGTERM')
        rows.push({ event: 'leave (SIGTERM)', members: 2, ms: (await settled(dir, topic, partitions, ['m0', b], timeoutMs, gone)) - t })
        t = Date.now()
        await stop(b, 'SIGKILL')
        rows.push({ event: 'crash (SIGKILL)', members: 1, ms: (await settled(dir, topic, partitions, ['m0'], timeoutMs, gone)) - t })
      }
      return { scenario: 'groups', partitions, rounds, sessionTimeoutMs, heartbeatIntervalMs, rows }
    })
  } finally {
    for (const p of procs.values()) p.child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The human table of a groups row: each timed change, and per kind the mean. */
export function groupsTable(r, { formatTable, fmtInt }) {
  const kinds = [...new Set(r.rows.map((x) => `${x.event} → ${x.members}`))]
  return formatTable(
    [`consumer-group rebalance, ${r.partitions} partitions, session ${r.sessionTimeoutMs} ms, heartbeat ${r.heartbeatIntervalMs} ms (change → every partition owned again)`, 'runs', 'ms (each)', 'mean ms'],
    kinds.map((k) => {
      const ms = r.rows.filter((x) => `${x.event} → ${x.members}` === k).map((x) => x.ms)
      return [`${k} member${k.endsWith('→ 1') ? '' : 's'}`, ms.length, ms.map(fmtInt).join(', '), fmtInt(ms.reduce((a, b) => a + b, 0) / ms.length)]
    }),
  )
}
