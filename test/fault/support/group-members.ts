/**
 * @module The driver of a consumer-group fault scenario: starts group members as their own processes
 * (group-member.mjs), kills them with SIGKILL or stops them with SIGTERM, produces acknowledged records, reads the
 * group's committed offsets back, and gathers every process's history file (JSON lines) into one history for
 * test/support/group-history.ts.
 *
 * Invariants: one history file per process in `dir` (each member's own, `driver.jsonl` for the driver's events:
 * produced, crashed, final-committed); `crashed` is written after the SIGKILL was sent, so every event of the killed
 * process is at or before it. Member files are read incrementally (`refresh()`); a line is taken only once whole.
 * Every process started here is killed by `close()`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SamsaClient } from '@samsa/client-browser'
import { checkGroupHistory, describeGroupReport, ownershipIntervals, type GroupEvent, type GroupHistoryReport } from '../../support/group-history.js'
import { committedOffsets } from '../../support/group-admin.js'
import { until } from '../../support/until.js'
import { nodeClient } from './observe.js'

const MEMBER = fileURLToPath(new URL('./group-member.mjs', import.meta.url))
const NOTES = new Set<string>(['started', 'sdk-error', 'sdk-log', 'failed', 'fault'])

export interface MemberOptions {
  readonly instanceId?: string
  readonly rebalanceTimeoutMs?: number
  readonly assignor?: 'uniform' | 'range'
  readonly commitIntervalMs?: number
  /** A pause after each record (workload pacing, so partitions move while records are being processed). */
  readonly recordDelayMs?: number
}

interface Member {
  readonly name: string
  readonly file: string
  readonly proc: ChildProcess
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly stderr: string[]
  /** Bytes of the history file read so far, and the unfinished line after them. */
  read: number
  rest: string
}

/** Lines the checker does not read, written for reports (a fault is the driver's: what it did to the cluster). */
type NoteLine =
  | { readonly type: 'started' | 'sdk-error' | 'failed'; readonly member: string; readonly at: number; readonly error?: string }
  | { readonly type: 'sdk-log'; readonly member: string; readonly at: number; readonly level: string; readonly msg: string; readonly fields: string }
  | { readonly type: 'fault'; readonly what: string; readonly at: number }
/** Any line a process wrote. */
export type HistoryLine = GroupEvent | NoteLine

export class GroupMembers {
  readonly dir: string
  readonly brokers: readonly string[]
  readonly groupId: string
  readonly topic: string
  readonly partitions: number
  /** Every line read so far, in arrival order (members' lines as `refresh()` finds them). */
  readonly lines: HistoryLine[] = []
  readonly #members = new Map<string, Member>()
  readonly #driverFile: string
  #producer: SamsaClient | null = null
  #produced = 0

  constructor(opts: { brokers: readonly string[]; groupId: string; topic: string; partitions: number }) {
    this.brokers = opts.brokers
    this.groupId = opts.groupId
    this.topic = opts.topic
    this.partitions = opts.partitions
    this.dir = mkdtempSync(join(tmpdir(), 'samsa-group-history-'))
    this.#driverFile = join(this.dir, 'driver.jsonl')
  }

  /** Starts member `name` (a fresh name per process: the history tells processes apart by it). */
  start(name: string, opts: MemberOptions = {}): void {
    if (this.#members.has(name)) throw new Error(`member ${name} was already started; give each process its own name`)
    const file = join(this.dir, `${name}.jsonl`)
    const config = { brokers: this.brokers, groupId: this.groupId, topics: [this.topic], member: name, historyFile: file, ...opts }
    const proc = spawn(process.execPath, [MEMBER, JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'pipe'] })
    const stderr: string[] = []
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      if (stderr.length > 200) stderr.splice(0, stderr.length - 200)
    })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
    this.#members.set(name, { name, file, proc, exited, stderr, read: 0, rest: '' })
  }

  /** kill -9 of member `name`; resolves once it is gone, with `crashed` recorded. */
  async kill(name: string): Promise<number> {
    const m = this.#member(name)
    m.proc.kill('SIGKILL')
    const at = Date.now()
    this.record({ type: 'crashed', member: name, at })
    await m.exited
    return at
  }

  /** SIGTERM: the member commits, leaves and writes `stopped`; throws if it does not exit cleanly in time. */
  async stop(name: string, timeoutMs = 15_000): Promise<void> {
    const m = this.#member(name)
    m.proc.kill('SIGTERM')
    const timer = setTimeout(() => m.proc.kill('SIGKILL'), timeoutMs)
    const exit = await m.exited
    clearTimeout(timer)
    if (exit.code !== 0) throw new Error(`member ${name} exited with ${JSON.stringify(exit)} after SIGTERM; stderr: ${m.stderr.slice(-20).join('\n')}`)
  }

  /** Whether member `name`'s process still runs. */
  running(name: string): boolean {
    const m = this.#member(name)
    return m.proc.exitCode === null && m.proc.signalCode === null
  }

  /** Notes a fault the test caused (a broker killed, restarted) in driver.jsonl, for reading a failed history. */
  fault(what: string): void {
    this.record({ type: 'fault', what, at: Date.now() })
  }

  /** A driver event (written to driver.jsonl at once). */
  record(e: HistoryLine): void {
    this.lines.push(e)
    appendFileSync(this.#driverFile, `${JSON.stringify(e)}\n`)
  }

  /** Events another kind of member wrote (a browser tab's, taken from the page), kept in `<source>.jsonl` too. */
  ingest(source: string, lines: readonly HistoryLine[]): void {
    if (lines.length === 0) return
    this.lines.push(...lines)
    appendFileSync(join(this.dir, `${source}.jsonl`), lines.map((l) => `${JSON.stringify(l)}\n`).join(''))
  }

  /** Reads what the members wrote since the last call. */
  refresh(): void {
    for (const m of this.#members.values()) {
      let size: number
      try {
        size = statSync(m.file).size
      } catch {
        continue // not created yet
      }
      if (size <= m.read) continue
      const buf = Buffer.alloc(size - m.read)
      const fd = openSync(m.file, 'r')
      try {
        readSync(fd, buf, 0, buf.length, m.read)
      } finally {
        closeSync(fd)
      }
      m.read = size
      const parts = (m.rest + buf.toString('utf8')).split('\n')
      m.rest = parts.pop()!
      for (const line of parts) if (line) this.lines.push(JSON.parse(line))
    }
  }

  /** The history so far, as the checker takes it. */
  events(): GroupEvent[] {
    this.refresh()
    return this.lines.filter((l): l is GroupEvent => !NOTES.has(l.type))
  }

  /** Partition → the members owning it now (per the history so far). */
  owners(): Map<number, string[]> {
    const owners = new Map<number, string[]>()
    for (const o of ownershipIntervals(this.events()).intervals) {
      if (o.topic !== this.topic || o.end !== Infinity) continue
      owners.set(o.partition, [...(owners.get(o.partition) ?? []), o.member])
    }
    return owners
  }

  /** Waits until every partition has exactly one owner among `members` (default: any), each of them owning one at least. */
  async waitSettled(members: readonly string[] | null, what: string, timeoutMs = 30_000): Promise<number> {
    await until(() => {
      const owners = this.owners()
      if (owners.size !== this.partitions || [...owners.values()].some((o) => o.length !== 1)) return false
      if (!members) return true
      const owning = new Set([...owners.values()].map((o) => o[0]!))
      return members.every((m) => owning.has(m)) && [...owning].every((m) => members.includes(m))
    }, { timeoutMs, what: `${what} (owners now: ${JSON.stringify(Object.fromEntries(this.owners()))})` })
    return Date.now()
  }

  /** Produces `n` acknowledged records round-robin over the partitions (values `v-<k>`), recording each `produced`. */
  async produce(n: number): Promise<void> {
    this.#producer ??= nodeClient({ brokers: this.brokers, clientId: 'group-producer' })
    const producer = this.#producer.producer({ acks: 'all', idempotent: true, lingerMs: 5, maxRetries: 1_000 })
    await producer.ready
    const sends = Array.from({ length: n }, (_, i) => {
      const k = this.#produced++
      const value = `v-${k}`
      return producer.send(this.topic, [{ value, partition: k % this.partitions }]).then(([m]) => this.record({ type: 'produced', topic: this.topic, partition: m!.partition, offset: m!.offset, value, at: Date.now() }))
    })
    await Promise.all(sends)
  }

  /** Waits until every produced record has been processed by some member. */
  async waitProcessed(timeoutMs = 30_000): Promise<void> {
    await until(() => {
      const events = this.events()
      const done = new Set(events.flatMap((e) => (e.type === 'processed' ? [`${e.partition}#${e.offset}`] : [])))
      return events.every((e) => e.type !== 'produced' || done.has(`${e.partition}#${e.offset}`))
    }, { timeoutMs, what: 'every produced record processed' })
  }

  /** Reads the group's committed offsets back into the history (`final-committed`). */
  async readBack(): Promise<void> {
    const partitions = Array.from({ length: this.partitions }, (_, p) => p)
    for (const c of await committedOffsets(this.brokers, this.groupId, [{ topic: this.topic, partitions }])) {
      this.record({ type: 'final-committed', topic: c.topic, partition: c.partition, offset: c.offset, at: Date.now() })
    }
  }

  /** Checks the whole history; with the report, a text for failure messages (plus each member's last stderr lines). */
  check(reownWithinMs: number, maxZombieMs = 0): { report: GroupHistoryReport; text: string } {
    const report = checkGroupHistory({ events: this.events(), reownWithinMs, maxZombieMs })
    const notes = this.lines.filter((l) => l.type === 'failed' || l.type === 'sdk-error' || l.type === 'fault').slice(0, 20).map((l) => JSON.stringify(l))
    const stderr = [...this.#members.values()].filter((m) => m.stderr.length).map((m) => `${m.name} stderr: ${m.stderr.slice(-5).join(' | ')}`)
    return { report, text: [describeGroupReport(report), `history files: ${this.dir}`, ...notes, ...stderr].join('\n') }
  }

  /** Kills every member still running and closes the producer; keeps the history files when `keep` (a failed run). */
  async close(keep = false): Promise<void> {
    for (const m of this.#members.values()) {
      if (m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill('SIGKILL')
      await m.exited
    }
    await this.#producer?.close()
    if (!keep) rmSync(this.dir, { recursive: true, force: true })
  }

  #member(name: string): Member {
    const m = this.#members.get(name)
    if (!m) throw new Error(`no member ${name}`)
    return m
  }
}
