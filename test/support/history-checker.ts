/**
 * @module An "Elle-lite" history checker for single-broker logs (after the reliability plan's §2.2: Jepsen's kafka.clj and NATS queue.clj checks).
 * Pure: give it what producers attempted and what was acknowledged, and what a final drain (and optionally
 * consumer sessions) read back; it lists every anomaly. Values name their producer and a counter that grows
 * in send order (`r-000001`, `p1-42`), which gives per-producer order cheaply.
 */

/** A record whose send was acknowledged at (partition, offset). */
export interface Ack {
  readonly partition: number
  readonly offset: number
  readonly value: string
}

/** A record read back from the log. */
export interface Read {
  readonly partition: number
  readonly offset: number
  readonly value: string
}

export interface History {
  /** Every value any producer tried to send (acknowledged or not). Reads of anything else are "unexpected". */
  readonly attempted: Iterable<string>
  /** Acknowledged sends (ok). */
  readonly acked: readonly Ack[]
  /** Values whose send definitely failed before append ("fail"): they must never appear in the log. */
  readonly failed?: Iterable<string>
  /** The final drain of the whole log: every partition read from its start to its end. */
  readonly drained: readonly Read[]
  /**
   * Records consumers read while the run went on (any order, repeats allowed). Each takes part in the
   * one-value-per-offset rule, and must still be in the final drain at its place ("vanished-read" otherwise).
   */
  readonly observed?: readonly Read[]
  /** Partition → first offset of the log (default 0 for every partition). */
  readonly logStartOffsets?: Readonly<Record<number, number>>
  /** Splits a value into producer and counter; default: `<producer>-<decimal counter>`. */
  readonly parse?: (value: string) => { producer: string; counter: number } | null
}

export type Anomaly =
  | { kind: 'lost-write'; partition: number; offset: number; value: string; found: string | null }
  | { kind: 'inconsistent-offset'; partition: number; offset: number; values: string[] }
  | { kind: 'duplicate'; value: string; at: { partition: number; offset: number }[] }
  | { kind: 'offset-gap'; partition: number; expected: number; found: number }
  | { kind: 'unexpected'; partition: number; offset: number; value: string }
  | { kind: 'aborted-read'; partition: number; offset: number; value: string }
  | { kind: 'vanished-read'; partition: number; offset: number; value: string; found: string | null }
  | { kind: 'nonmonotonic-send'; partition: number; producer: string; offset: number; value: string; previous: string }
  | { kind: 'unparseable-value'; partition: number; offset: number; value: string }

export interface HistoryReport {
  readonly ok: boolean
  readonly anomalies: Anomaly[]
  readonly counts: {
    readonly attempted: number
    readonly acked: number
    readonly drained: number
    /** Acknowledged values found at their acknowledged (partition, offset). */
    readonly ackedFound: number
    /** Values in the log that were attempted but never acknowledged (allowed: ambiguous sends). */
    readonly unackedPresent: number
    readonly perPartition: Record<number, number>
  }
}

export const defaultParse = (value: string): { producer: string; counter: number } | null => {
  const m = /^(.*)-(\d+)$/.exec(value)
  return m ? { producer: m[1]!, counter: Number(m[2]) } : null
}

const key = (partition: number, offset: number) => `${partition}:${offset}`

export function checkHistory(h: History): HistoryReport {
  const anomalies: Anomaly[] = []
  const attempted = new Set(h.attempted)
  const failed = new Set(h.failed ?? [])
  const parse = h.parse ?? defaultParse

  // 1. inconsistent offsets: per (partition, offset), the set of values from acks and reads.
  const valuesAt = new Map<string, { partition: number; offset: number; values: Set<string> }>()
  const note = (partition: number, offset: number, value: string) => {
    const k = key(partition, offset)
    let e = valuesAt.get(k)
    if (!e) valuesAt.set(k, (e = { partition, offset, values: new Set() }))
    e.values.add(value)
  }
  for (const a of h.acked) note(a.partition, a.offset, a.value)
  for (const r of h.drained) note(r.partition, r.offset, r.value)
  for (const r of h.observed ?? []) note(r.partition, r.offset, r.value)
  for (const e of valuesAt.values()) {
    if (e.values.size > 1) anomalies.push({ kind: 'inconsistent-offset', partition: e.partition, offset: e.offset, values: [...e.values].sort() })
  }

  // 2. duplicates: a value at more than one place (in the drain, or acknowledged at two places).
  const places = new Map<string, Map<string, { partition: number; offset: number }>>()
  const place = (value: string, partition: number, offset: number) => {
    let m = places.get(value)
    if (!m) places.set(value, (m = new Map()))
    m.set(key(partition, offset), { partition, offset })
  }
  const drainedAt = new Map<string, Read[]>()
  for (const r of h.drained) {
    place(r.value, r.partition, r.offset)
    const k = key(r.partition, r.offset)
    const list = drainedAt.get(k)
    if (list) list.push(r)
    else drainedAt.set(k, [r])
  }
  for (const a of h.acked) place(a.value, a.partition, a.offset)
  for (const [value, m] of places) if (m.size > 1) anomalies.push({ kind: 'duplicate', value, at: [...m.values()].sort((x, y) => x.partition - y.partition || x.offset - y.offset) })
  // The same (partition, offset) delivered twice by the drain is a duplicate read too.
  for (const [, list] of drainedAt) {
    if (list.length > 1 && new Set(list.map((r) => r.value)).size === 1) {
      anomalies.push({ kind: 'duplicate', value: list[0]!.value, at: list.map((r) => ({ partition: r.partition, offset: r.offset })) })
    }
  }

  // 3. lost writes: every ack must be in the drain at exactly its place, with its value.
  let ackedFound = 0
  for (const a of h.acked) {
    const found = drainedAt.get(key(a.partition, a.offset))
    if (found?.some((r) => r.value === a.value)) ackedFound++
    else anomalies.push({ kind: 'lost-write', partition: a.partition, offset: a.offset, value: a.value, found: found?.[0]?.value ?? null })
  }

  // 3b. vanished reads: what a consumer saw at (partition, offset) is in the final drain there.
  const vanished = new Set<string>()
  for (const r of h.observed ?? []) {
    const k = key(r.partition, r.offset)
    if (vanished.has(k)) continue
    const found = drainedAt.get(k)
    if (found?.some((d) => d.value === r.value)) continue
    vanished.add(k)
    anomalies.push({ kind: 'vanished-read', partition: r.partition, offset: r.offset, value: r.value, found: found?.[0]?.value ?? null })
  }

  // Per partition, in offset order.
  const byPartition = new Map<number, Read[]>()
  for (const r of h.drained) {
    const list = byPartition.get(r.partition)
    if (list) list.push(r)
    else byPartition.set(r.partition, [r])
  }
  const perPartition: Record<number, number> = {}
  const ackedValues = new Set(h.acked.map((a) => a.value))
  let unackedPresent = 0
  for (const [partition, list] of [...byPartition].sort((a, b) => a[0] - b[0])) {
    list.sort((a, b) => a.offset - b.offset)
    perPartition[partition] = list.length
    // contiguity from the log start
    let expected = h.logStartOffsets?.[partition] ?? 0
    const lastCounter = new Map<string, { counter: number; value: string }>()
    let previousOffset = -1
    for (const r of list) {
      if (r.offset === previousOffset) continue // duplicate read, reported above
      previousOffset = r.offset
      if (r.offset !== expected) anomalies.push({ kind: 'offset-gap', partition, expected, found: r.offset })
      expected = r.offset + 1
      // 4. unexpected and 5. aborted reads
      if (!attempted.has(r.value)) anomalies.push({ kind: 'unexpected', partition, offset: r.offset, value: r.value })
      else if (!ackedValues.has(r.value)) unackedPresent++
      if (failed.has(r.value)) anomalies.push({ kind: 'aborted-read', partition, offset: r.offset, value: r.value })
      // 7. per producer, counters increase with the offset
      const parsed = parse(r.value)
      if (!parsed) {
        anomalies.push({ kind: 'unparseable-value', partition, offset: r.offset, value: r.value })
        continue
      }
      const prev = lastCounter.get(parsed.producer)
      if (prev && parsed.counter <= prev.counter) {
        anomalies.push({ kind: 'nonmonotonic-send', partition, producer: parsed.producer, offset: r.offset, value: r.value, previous: prev.value })
      }
      lastCounter.set(parsed.producer, { counter: parsed.counter, value: r.value })
    }
  }

  return {
    ok: anomalies.length === 0,
    anomalies,
    counts: { attempted: attempted.size, acked: h.acked.length, drained: h.drained.length, ackedFound, unackedPresent, perPartition },
  }
}

export type StreamAnomaly =
  | { kind: 'poll-skip'; partition: number; expected: number; found: number }
  | { kind: 'nonmonotonic-poll'; partition: number; previous: number; found: number }

/**
 * One consumer session's deliveries, in delivery order: per partition the offsets must be strictly increasing
 * and contiguous (no gap, no duplicate), starting at `start[partition]` when given.
 */
export function checkConsumerStream(delivered: readonly { partition: number; offset: number }[], start: Readonly<Record<number, number>> = {}): StreamAnomaly[] {
  const anomalies: StreamAnomaly[] = []
  const next = new Map<number, number>()
  for (const [p, o] of Object.entries(start)) next.set(Number(p), o)
  for (const r of delivered) {
    const expected = next.get(r.partition)
    if (expected !== undefined) {
      if (r.offset < expected) anomalies.push({ kind: 'nonmonotonic-poll', partition: r.partition, previous: expected - 1, found: r.offset })
      else if (r.offset > expected) anomalies.push({ kind: 'poll-skip', partition: r.partition, expected, found: r.offset })
    }
    if (expected === undefined || r.offset >= expected) next.set(r.partition, r.offset + 1)
  }
  return anomalies
}

/** A short human summary of a report (first anomalies of each kind), for test failure messages. */
export function describeReport(r: HistoryReport, maxPerKind = 5): string {
  const byKind = new Map<string, Anomaly[]>()
  for (const a of r.anomalies) {
    const list = byKind.get(a.kind)
    if (list) list.push(a)
    else byKind.set(a.kind, [a])
  }
  const lines = [`counts: ${JSON.stringify(r.counts)}`]
  for (const [kind, list] of byKind) lines.push(`${kind}: ${list.length}, e.g. ${list.slice(0, maxPerKind).map((a) => JSON.stringify(a)).join('; ')}`)
  return lines.join('\n')
}
