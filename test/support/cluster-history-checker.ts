/**
 * @module A history of client operations against a cluster, and its checker. Every operation is recorded as an
 * invoke followed by exactly one completion: ok (acknowledged / read), fail (definitely did not happen) or unknown
 * (may or may not have happened: a timeout, a lost connection). Beside the operations, periodic samples of what each
 * node says about partition leadership (leader per leader epoch) and about the controller (leader per term).
 *
 * The log rules (lost acknowledged records, duplicates, two values at one offset, reads that later vanished,
 * reordering within a producer) are those of history-checker.ts, applied to the history converted here: one rule
 * in one place. Added here: one consumer session's delivery order, one partition leader per leader epoch, one
 * controller leader per term.
 */
import { checkConsumerStream, checkHistory, describeReport, type Anomaly, type HistoryReport, type Read, type StreamAnomaly } from './history-checker.js'

export type OpKind = 'invoke' | 'ok' | 'fail' | 'unknown'

/** One line of the history. A send's partition and offset are known on ok; a read's on ok. */
export interface Op {
  /** Monotonic id of the operation; its invoke and its completion carry the same id. */
  readonly id: number
  readonly type: OpKind
  readonly f: 'send' | 'read'
  /** The producer or consumer session that did it. */
  readonly process: string
  readonly value: string
  readonly partition?: number
  readonly offset?: number
  readonly timeMs: number
  readonly error?: string
}

export interface LeaderSample {
  readonly timeMs: number
  /** The node whose metadata this is. */
  readonly observer: number
  readonly topic: string
  readonly partition: number
  readonly leader: number
  readonly leaderEpoch: number
}

export interface ControllerSample {
  readonly timeMs: number
  readonly observer: number
  readonly term: number
  readonly leaderId: number | null
}

/** Records operations as they happen. Not thread-safe beyond the one event loop it lives on. */
export class HistoryRecorder {
  readonly ops: Op[] = []
  readonly leaderSamples: LeaderSample[] = []
  readonly controllerSamples: ControllerSample[] = []
  #nextId = 0
  readonly #now: () => number

  constructor(now: () => number = () => performance.now()) {
    this.#now = now
  }

  /** Records the invoke and returns the functions that record its one completion (a second completion throws). */
  invoke(f: Op['f'], process: string, value: string, partition?: number): { ok(at: { partition: number; offset: number }): void; fail(error: unknown): void; unknown(error: unknown): void } {
    const id = this.#nextId++
    this.ops.push({ id, type: 'invoke', f, process, value, timeMs: this.#now(), ...(partition !== undefined && { partition }) })
    let done = false
    const complete = (type: OpKind, extra: Partial<Op>) => {
      if (done) throw new Error(`operation ${id} (${f} ${value}) completed twice`)
      done = true
      this.ops.push({ id, type, f, process, value, timeMs: this.#now(), ...(partition !== undefined && { partition }), ...extra })
    }
    return {
      ok: (at) => complete('ok', { partition: at.partition, offset: at.offset }),
      fail: (e) => complete('fail', { error: String((e as Error)?.message ?? e) }),
      unknown: (e) => complete('unknown', { error: String((e as Error)?.message ?? e) }),
    }
  }

  /** A read is recorded complete at once: the consumer saw `value` at (partition, offset). */
  read(process: string, at: { partition: number; offset: number }, value: string): void {
    const id = this.#nextId++
    const timeMs = this.#now()
    this.ops.push({ id, type: 'invoke', f: 'read', process, value, timeMs })
    this.ops.push({ id, type: 'ok', f: 'read', process, value, timeMs, partition: at.partition, offset: at.offset })
  }

  sampleLeader(s: Omit<LeaderSample, 'timeMs'>): void {
    this.leaderSamples.push({ ...s, timeMs: this.#now() })
  }

  sampleController(s: Omit<ControllerSample, 'timeMs'>): void {
    this.controllerSamples.push({ ...s, timeMs: this.#now() })
  }

  now(): number {
    return this.#now()
  }
}

export type ClusterAnomaly =
  | Anomaly
  | (StreamAnomaly & { process: string })
  | { kind: 'two-leaders-one-epoch'; topic: string; partition: number; leaderEpoch: number; leaders: number[] }
  | { kind: 'two-controllers-one-term'; term: number; leaders: number[] }
  | { kind: 'incomplete-operation'; id: number; f: Op['f']; value: string }

export interface ClusterHistoryInput {
  readonly ops: readonly Op[]
  /** The final drain: every partition read from its start to its end after the faults healed. */
  readonly drained: readonly Read[]
  readonly leaderSamples?: readonly LeaderSample[]
  readonly controllerSamples?: readonly ControllerSample[]
  /** Partition → first offset of the log (default 0). */
  readonly logStartOffsets?: Readonly<Record<number, number>>
}

export interface ClusterHistoryReport {
  readonly ok: boolean
  readonly anomalies: ClusterAnomaly[]
  readonly log: HistoryReport
  readonly counts: {
    readonly sendInvoked: number
    readonly sendOk: number
    readonly sendFail: number
    readonly sendUnknown: number
    readonly reads: number
    readonly drained: number
    readonly leaderSamples: number
    readonly controllerSamples: number
  }
}

export function checkClusterHistory(h: ClusterHistoryInput): ClusterHistoryReport {
  const anomalies: ClusterAnomaly[] = []
  const invoked = new Map<number, Op>()
  const completed = new Map<number, Op>()
  for (const op of h.ops) (op.type === 'invoke' ? invoked : completed).set(op.id, op)
  for (const [id, op] of invoked) if (!completed.has(id)) anomalies.push({ kind: 'incomplete-operation', id, f: op.f, value: op.value })

  const sends = [...completed.values()].filter((o) => o.f === 'send')
  const reads = [...completed.values()].filter((o) => o.f === 'read' && o.type === 'ok')
  const acked = sends.filter((o) => o.type === 'ok').map((o) => ({ partition: o.partition!, offset: o.offset!, value: o.value }))
  const log = checkHistory({
    attempted: [...invoked.values()].filter((o) => o.f === 'send').map((o) => o.value),
    acked,
    failed: sends.filter((o) => o.type === 'fail').map((o) => o.value),
    drained: h.drained,
    observed: reads.map((o) => ({ partition: o.partition!, offset: o.offset!, value: o.value })),
    ...(h.logStartOffsets && { logStartOffsets: h.logStartOffsets }),
  })
  anomalies.push(...log.anomalies)

  // Per consumer session, in delivery order (ids grow in recording order).
  const byProcess = new Map<string, Op[]>()
  for (const r of reads.sort((a, b) => a.id - b.id)) {
    const list = byProcess.get(r.process)
    if (list) list.push(r)
    else byProcess.set(r.process, [r])
  }
  for (const [process, list] of byProcess) {
    const first: Record<number, number> = {}
    for (const r of list) first[r.partition!] ??= r.offset!
    for (const a of checkConsumerStream(list.map((r) => ({ partition: r.partition!, offset: r.offset! })), first)) anomalies.push({ ...a, process })
  }

  // One leader per (partition, leader epoch), over every node's view at every sample.
  const leaders = new Map<string, { topic: string; partition: number; leaderEpoch: number; leaders: Set<number> }>()
  for (const s of h.leaderSamples ?? []) {
    if (s.leader <= 0) continue // no leader is not a second leader
    const k = `${s.topic}/${s.partition}@${s.leaderEpoch}`
    let e = leaders.get(k)
    if (!e) leaders.set(k, (e = { topic: s.topic, partition: s.partition, leaderEpoch: s.leaderEpoch, leaders: new Set() }))
    e.leaders.add(s.leader)
  }
  for (const e of leaders.values()) {
    if (e.leaders.size > 1) anomalies.push({ kind: 'two-leaders-one-epoch', topic: e.topic, partition: e.partition, leaderEpoch: e.leaderEpoch, leaders: [...e.leaders].sort() })
  }
  const terms = new Map<number, Set<number>>()
  for (const s of h.controllerSamples ?? []) {
    if (s.leaderId === null || s.leaderId <= 0) continue
    let set = terms.get(s.term)
    if (!set) terms.set(s.term, (set = new Set()))
    set.add(s.leaderId)
  }
  for (const [term, set] of terms) if (set.size > 1) anomalies.push({ kind: 'two-controllers-one-term', term, leaders: [...set].sort() })

  return {
    ok: anomalies.length === 0,
    anomalies,
    log,
    counts: {
      sendInvoked: [...invoked.values()].filter((o) => o.f === 'send').length,
      sendOk: acked.length,
      sendFail: sends.filter((o) => o.type === 'fail').length,
      sendUnknown: sends.filter((o) => o.type === 'unknown').length,
      reads: reads.length,
      drained: h.drained.length,
      leaderSamples: h.leaderSamples?.length ?? 0,
      controllerSamples: h.controllerSamples?.length ?? 0,
    },
  }
}

/** Counts, then the first anomalies of each kind, for failure messages and run logs. */
export function describeClusterReport(r: ClusterHistoryReport, maxPerKind = 5): string {
  const byKind = new Map<string, ClusterAnomaly[]>()
  for (const a of r.anomalies) {
    const list = byKind.get(a.kind)
    if (list) list.push(a)
    else byKind.set(a.kind, [a])
  }
  const lines = [`operations: ${JSON.stringify(r.counts)}`, describeReport({ ...r.log, anomalies: [] })]
  for (const [kind, list] of byKind) lines.push(`${kind}: ${list.length}, e.g. ${list.slice(0, maxPerKind).map((a) => JSON.stringify(a)).join('; ')}`)
  return lines.join('\n')
}
