/**
 * @module The consumer-group history and its checker (pure). Every group member process, the producers and the
 * test driver write events (JSON lines, `at` = wall-clock ms on one machine, events of one process in the order it
 * wrote them); the checker takes all of them and lists every anomaly, each naming the partition, the members, their
 * member epochs and the offsets involved.
 *
 * Rules:
 * - ownership: a member owns a partition from its `assigned` event until its `revoked`, its `stopped` or its
 *   `crashed` event (the end of the history otherwise). Ownership intervals of different members on one partition
 *   never overlap in time (`overlapping-ownership`), except a fenced member's tail: a member removed by the coordinator
 *   (its session expired) processes until its next heartbeat tells it (`revoked` with `lost: true`), while its
 *   partitions may already be someone else's at a newer epoch; such a zombie window is allowed up to `maxZombieMs`
 *   (default 0) and counted. A member processes only what it owns (`processed-unowned`); no
 *   two group members process one partition in one member epoch (`two-members-one-epoch`; the processes of one static
 *   instance, a tab and its reloads, are one group member: it comes back at its epoch).
 * - commits: acknowledged commits of a partition never regress in acknowledgement order (`commit-regressed`); an
 *   admin `reset` starts a new baseline; the committed offset read back after the run (`final-committed`, −1 when
 *   none) is ≥ the greatest acknowledged commit since the last reset (`commit-lost`).
 * - delivery: every acknowledged produced record is processed at least once by the group (`unprocessed`), with the
 *   value produced at its offset (`value-mismatch`); at most once with `mode: 'process'` (`duplicate-process`).
 * - liveness: every partition a member owned when it crashed is assigned again within `reownWithinMs`
 *   (`unowned-after-crash`).
 * Ties in `at` (one millisecond) never count as an overlap or a regression.
 */

interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/** Events as written to the history files (JSON lines, one file per member process: test/fault/support/group-member.mjs writes them). */
export type GroupEvent =
  | (TopicPartition & { readonly type: 'produced'; readonly offset: number; readonly value: string; readonly at?: number; readonly seq?: number })
  | (TopicPartition & { readonly type: 'assigned'; readonly member: string; readonly memberEpoch: number; readonly at: number; readonly seq?: number })
  /** `lost`: dropped without a commit because the member learnt it was fenced or removed. */
  | (TopicPartition & { readonly type: 'revoked'; readonly member: string; readonly memberEpoch: number; readonly at: number; readonly lost?: boolean; readonly seq?: number })
  | (TopicPartition & {
      readonly type: 'processed'
      readonly member: string
      readonly memberEpoch: number
      readonly offset: number
      readonly value: string
      readonly at: number
      readonly mode: 'iterate' | 'process'
      /** A static member's instance id: the loads of one instance (a tab and its reloads) are one group member. */
      readonly instance?: string
      readonly seq?: number
    })
  | (TopicPartition & { readonly type: 'committed'; readonly member: string; readonly memberEpoch: number; readonly offset: number; readonly at: number; readonly seq?: number })
  | { readonly type: 'crashed'; readonly member: string; readonly at: number; readonly seq?: number }
  | { readonly type: 'stopped'; readonly member: string; readonly at: number; readonly seq?: number }
  /** An administrator's offset reset (`samsa groups reset-offsets --execute`), acknowledged at `at`. */
  | (TopicPartition & { readonly type: 'reset'; readonly offset: number; readonly at: number; readonly seq?: number })
  /** The group's committed offset read back (offsetFetch) after the run; −1 when the group has none. */
  | (TopicPartition & { readonly type: 'final-committed'; readonly offset: number; readonly at?: number; readonly seq?: number })

type EventOf<T extends GroupEvent['type']> = Extract<GroupEvent, { type: T }>

export type GroupAnomaly =
  | (TopicPartition & { kind: 'overlapping-ownership'; members: [string, string]; epochs: [number[], number[]]; from: number; to: number; offsets: [number[], number[]] })
  | (TopicPartition & { kind: 'processed-unowned'; member: string; memberEpoch: number; offset: number; at: number })
  | (TopicPartition & { kind: 'two-members-one-epoch'; memberEpoch: number; members: string[]; offsets: number[][] })
  | (TopicPartition & { kind: 'commit-regressed'; members: [string, string]; epochs: [number, number]; offsets: [number, number]; at: [number, number] })
  | (TopicPartition & { kind: 'commit-lost'; member: string; memberEpoch: number; offset: number; finalOffset: number | null })
  | (TopicPartition & { kind: 'unprocessed'; offset: number; value: string; owners: { member: string; epochs: number[] }[] })
  | (TopicPartition & { kind: 'value-mismatch'; member: string; memberEpoch: number; offset: number; produced: string; processed: string })
  | (TopicPartition & { kind: 'duplicate-process'; offset: number; members: string[]; epochs: number[] })
  | (TopicPartition & { kind: 'unowned-after-crash'; member: string; memberEpoch: number; crashedAt: number; reownedAt: number | null; limitMs: number })

export interface GroupHistoryInput {
  readonly events: readonly GroupEvent[]
  /** A crashed member's partitions must be assigned again this soon (session timeout + a heartbeat or so). */
  readonly reownWithinMs: number
  /** How long a fenced member may go on processing a partition already given to another (a heartbeat or so). Default 0. */
  readonly maxZombieMs?: number
}

export interface GroupHistoryReport {
  readonly ok: boolean
  readonly anomalies: GroupAnomaly[]
  readonly counts: {
    readonly produced: number
    readonly processed: number
    readonly processedOnce: number
    readonly assignments: number
    readonly commits: number
    readonly crashes: number
    readonly finalCommitted: number
    /** Overlaps allowed as a fenced member's tail, and the longest (ms). */
    readonly zombieOverlaps: number
    readonly longestZombieMs: number
  }
}

/** One member's ownership of one partition. `end` is Infinity while it lasts at the end of the history. */
export interface Ownership extends TopicPartition {
  readonly member: string
  readonly start: number
  end: number
  readonly epochs: number[]
  readonly closedBy: 'revoked' | 'lost' | 'stopped' | 'crashed' | null
}

const tpKey = (t: TopicPartition) => `${t.topic}/${t.partition}`
const CAP = 10

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k)
  if (list) list.push(v)
  else m.set(k, [v])
}

/** Events in time order; events of one `at` keep their input order, except that a crash comes after them. */
function timeOrder(events: readonly GroupEvent[]): GroupEvent[] {
  const rank = (e: GroupEvent) => (e.type === 'crashed' ? 1 : 0)
  return events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.at ?? 0) - (b.e.at ?? 0) || rank(a.e) - rank(b.e) || a.i - b.i)
    .map(({ e }) => e)
}

/**
 * Replays each member's events: ownership intervals, and the processed events no interval covers. A crash closes
 * every interval of its member, so a member name reused by a restarted process starts afresh.
 */
export function ownershipIntervals(events: readonly GroupEvent[]): { intervals: Ownership[]; unowned: EventOf<'processed'>[] } {
  const intervals: Ownership[] = []
  const unowned: EventOf<'processed'>[] = []
  const open = new Map<string, Map<string, Ownership>>() // member → partition → interval
  const openOf = (member: string) => {
    let m = open.get(member)
    if (!m) open.set(member, (m = new Map()))
    return m
  }
  const close = (o: Ownership, at: number, by: NonNullable<Ownership['closedBy']>) => {
    o.end = at
    intervals.push({ ...o, closedBy: by })
  }
  for (const e of timeOrder(events)) {
    switch (e.type) {
      case 'assigned': {
        const mine = openOf(e.member)
        const o = mine.get(tpKey(e))
        if (o) o.epochs.push(e.memberEpoch)
        else mine.set(tpKey(e), { topic: e.topic, partition: e.partition, member: e.member, start: e.at, end: Infinity, epochs: [e.memberEpoch], closedBy: null })
        break
      }
      case 'revoked': {
        const mine = openOf(e.member)
        const o = mine.get(tpKey(e))
        if (o) {
          mine.delete(tpKey(e))
          close(o, e.at, e.lost === true ? 'lost' : 'revoked')
        }
        break
      }
      case 'processed':
        if (!openOf(e.member).has(tpKey(e))) unowned.push(e)
        break
      case 'stopped':
      case 'crashed': {
        const mine = openOf(e.member)
        for (const o of mine.values()) close(o, e.at, e.type)
        mine.clear()
        break
      }
      default:
        break
    }
  }
  for (const mine of open.values()) for (const o of mine.values()) intervals.push({ ...o })
  return { intervals, unowned }
}

export function checkGroupHistory(h: GroupHistoryInput): GroupHistoryReport {
  const anomalies: GroupAnomaly[] = []
  const events = timeOrder(h.events)
  const of = <T extends GroupEvent['type']>(type: T) => events.filter((e): e is EventOf<T> => e.type === type)
  const produced = of('produced')
  const processed = of('processed')
  const committed = of('committed')
  const crashed = of('crashed')
  const finals = of('final-committed')

  const { intervals, unowned } = ownershipIntervals(events)
  const processedBy = new Map<string, EventOf<'processed'>[]>() // partition → processed events
  for (const p of processed) push(processedBy, tpKey(p), p)

  // Ownership: intervals of different members on one partition are disjoint, but for a fenced member's short tail.
  let zombieOverlaps = 0
  let longestZombieMs = 0
  const byPartition = new Map<string, Ownership[]>()
  for (const o of intervals) push(byPartition, tpKey(o), o)
  for (const [key, list] of byPartition) {
    list.sort((a, b) => a.start - b.start)
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!
        const b = list[j]!
        if (b.start >= a.end) break
        if (a.member === b.member || !(a.start < b.end && b.start < a.end)) continue
        const from = Math.max(a.start, b.start)
        const to = Math.min(a.end, b.end)
        const zombie = a.closedBy === 'lost' && a.end <= b.end && !a.epochs.some((e) => b.epochs.includes(e))
        if (zombie && to - from <= (h.maxZombieMs ?? 0)) {
          zombieOverlaps++
          longestZombieMs = Math.max(longestZombieMs, to - from)
          continue
        }
        const within = (o: Ownership) => (processedBy.get(key) ?? []).filter((p) => p.member === o.member && p.at >= from && p.at <= to).slice(0, CAP).map((p) => p.offset)
        anomalies.push({ kind: 'overlapping-ownership', topic: a.topic, partition: a.partition, members: [a.member, b.member], epochs: [a.epochs, b.epochs], from, to, offsets: [within(a), within(b)] })
      }
    }
  }
  for (const p of unowned) anomalies.push({ kind: 'processed-unowned', topic: p.topic, partition: p.partition, member: p.member, memberEpoch: p.memberEpoch, offset: p.offset, at: p.at })

  // One group member (a static instance, else a member) per (partition, member epoch) among the processed records.
  const perEpoch = new Map<string, Map<string, number[]>>()
  const identities = new Map<string, Set<string>>()
  for (const p of processed) {
    const k = `${tpKey(p)}@${p.memberEpoch}`
    let members = perEpoch.get(k)
    if (!members) perEpoch.set(k, (members = new Map()))
    push(members, p.member, p.offset)
    let ids = identities.get(k)
    if (!ids) identities.set(k, (ids = new Set()))
    ids.add(p.instance === undefined ? `member:${p.member}` : `instance:${p.instance}`)
  }
  for (const [k, members] of perEpoch) {
    if (identities.get(k)!.size < 2) continue
    const first = processed.find((p) => `${tpKey(p)}@${p.memberEpoch}` === k)!
    anomalies.push({ kind: 'two-members-one-epoch', topic: first.topic, partition: first.partition, memberEpoch: first.memberEpoch, members: [...members.keys()], offsets: [...members.values()].map((o) => o.slice(0, CAP)) })
  }

  // Commits: never regress in acknowledgement order; the read-back offset keeps the greatest since the last reset.
  const commitsBy = new Map<string, (EventOf<'committed'> | EventOf<'reset'>)[]>()
  for (const e of events) if (e.type === 'committed' || e.type === 'reset') push(commitsBy, tpKey(e), e)
  const finalBy = new Map(finals.map((f) => [tpKey(f), f.offset]))
  for (const [key, list] of commitsBy) {
    type Mark = EventOf<'committed'> | EventOf<'reset'>
    let best: Mark | undefined // the baseline: a reset, or the greatest commit acknowledged in an earlier millisecond
    let current: Mark | undefined // the greatest commit of the current millisecond
    for (const c of list) {
      if (current && current.at < c.at) {
        if (!best || current.offset >= best.offset) best = current
        current = undefined
      }
      if (c.type === 'reset') {
        best = c
        current = undefined
        continue
      }
      if (best && c.offset < best.offset) {
        const prev = best.type === 'committed' ? best : { member: 'reset', memberEpoch: -1 }
        anomalies.push({ kind: 'commit-regressed', topic: c.topic, partition: c.partition, members: [prev.member, c.member], epochs: [prev.memberEpoch, c.memberEpoch], offsets: [best.offset, c.offset], at: [best.at, c.at] })
      }
      if (!current || c.offset >= current.offset) current = c
    }
    if (finals.length === 0) continue
    const lastReset = list.map((c) => c.type).lastIndexOf('reset')
    const sinceReset = list.slice(lastReset + 1).filter((c): c is EventOf<'committed'> => c.type === 'committed')
    const greatest = sinceReset.reduce<EventOf<'committed'> | undefined>((g, c) => (!g || c.offset > g.offset ? c : g), undefined)
    const finalOffset = finalBy.get(key) ?? null
    if (greatest && (finalOffset === null || finalOffset < greatest.offset)) {
      anomalies.push({ kind: 'commit-lost', topic: greatest.topic, partition: greatest.partition, member: greatest.member, memberEpoch: greatest.memberEpoch, offset: greatest.offset, finalOffset })
    }
  }

  // Delivery: at least once by the group, with the produced value; at most once in `process` mode.
  const producedAt = new Map(produced.map((p) => [`${tpKey(p)}#${p.offset}`, p]))
  const processedAt = new Map<string, EventOf<'processed'>[]>()
  for (const p of processed) push(processedAt, `${tpKey(p)}#${p.offset}`, p)
  for (const [k, p] of producedAt) {
    if (processedAt.has(k)) continue
    const owners = (byPartition.get(tpKey(p)) ?? []).map((o) => ({ member: o.member, epochs: o.epochs }))
    anomalies.push({ kind: 'unprocessed', topic: p.topic, partition: p.partition, offset: p.offset, value: p.value, owners })
  }
  for (const [k, list] of processedAt) {
    const want = producedAt.get(k)
    for (const p of list) {
      if (want && p.value !== want.value) anomalies.push({ kind: 'value-mismatch', topic: p.topic, partition: p.partition, member: p.member, memberEpoch: p.memberEpoch, offset: p.offset, produced: want.value, processed: p.value })
    }
    const once = list.filter((p) => p.mode === 'process')
    if (once.length > 1) anomalies.push({ kind: 'duplicate-process', topic: once[0]!.topic, partition: once[0]!.partition, offset: once[0]!.offset, members: once.map((p) => p.member), epochs: once.map((p) => p.memberEpoch) })
  }

  // Liveness: a crashed member's partitions are owned again in time.
  for (const c of crashed) {
    for (const o of intervals.filter((i) => i.member === c.member && i.closedBy === 'crashed' && i.end === c.at)) {
      const next = (byPartition.get(tpKey(o)) ?? []).filter((i) => i.start >= c.at && i !== o).reduce<number | null>((m, i) => (m === null || i.start < m ? i.start : m), null)
      if (next === null || next - c.at > h.reownWithinMs) {
        anomalies.push({ kind: 'unowned-after-crash', topic: o.topic, partition: o.partition, member: c.member, memberEpoch: o.epochs.at(-1) ?? -1, crashedAt: c.at, reownedAt: next, limitMs: h.reownWithinMs })
      }
    }
  }

  return {
    ok: anomalies.length === 0,
    anomalies,
    counts: {
      produced: produced.length,
      processed: processed.length,
      processedOnce: processed.filter((p) => p.mode === 'process').length,
      assignments: intervals.length,
      commits: committed.length,
      crashes: crashed.length,
      finalCommitted: finals.length,
      zombieOverlaps,
      longestZombieMs,
    },
  }
}

/** Counts, then the first anomalies of each kind, for failure messages and run logs. */
export function describeGroupReport(r: GroupHistoryReport, maxPerKind = 5): string {
  const byKind = new Map<string, GroupAnomaly[]>()
  for (const a of r.anomalies) push(byKind, a.kind, a)
  const lines = [`group history: ${JSON.stringify(r.counts)}`]
  for (const [kind, list] of byKind) lines.push(`${kind}: ${list.length}, e.g. ${list.slice(0, maxPerKind).map((a) => JSON.stringify(a)).join('; ')}`)
  return lines.join('\n')
}
