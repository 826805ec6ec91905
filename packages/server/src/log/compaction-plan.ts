/**
 * @module The log cleaner's decisions (pure). Over the cleanable range (sealed segments below a bound, oldest
 * first) a record survives when it is the latest record of its key in that range, and, for a tombstone (null value),
 * while its delete horizon has not passed. A record without a key always survives. Offsets are never changed: the
 * cleaner only drops records. The delete horizon of a tombstone is the time the cleaner first reached its offset plus
 * delete.retention.ms; the times passes reached offsets are kept as `CleanerPasses` (in the `cleaner-checkpoint`
 * file). Dropping or merging pass entries can only make a horizon later, never earlier, so a lost or trimmed
 * checkpoint keeps tombstones longer, never shorter.
 */

/** What the plan needs of one record. */
export interface CleanableRecord {
  readonly offset: number
  /** The key as a string (keyString), or null for a record without a key. */
  readonly key: string | null
  readonly tombstone: boolean
}

/** Each pass that reached offsets below `end` did so at `atMs` (wall clock); `end` and `atMs` both increase. */
export interface CleanerPass {
  readonly end: number
  readonly atMs: number
}
export type CleanerPasses = readonly CleanerPass[]

/** A pass checkpoint keeps at most this many entries; older interior ones are merged into later ones. */
export const MAX_CLEANER_PASSES = 64

/** A key's bytes as a Map key (one UTF-16 code unit per byte: injective). */
export function keyString(key: Uint8Array): string {
  let s = ''
  for (let i = 0; i < key.length; i += 4096) s += String.fromCharCode(...key.subarray(i, i + 4096))
  return s
}

/** The latest offset of each key among `records` (in offset order). */
export function latestOffsets(records: Iterable<CleanableRecord>, into = new Map<string, number>()): Map<string, number> {
  for (const r of records) if (r.key !== null) into.set(r.key, r.offset)
  return into
}

/** When the cleaner first reached `offset`: the first pass whose end passes it; null when none has yet. */
export function firstReachedAt(passes: CleanerPasses, offset: number): number | null {
  for (const p of passes) if (p.end > offset) return p.atMs
  return null
}

export interface SurvivalRules {
  readonly latest: ReadonlyMap<string, number>
  readonly passes: CleanerPasses
  readonly nowMs: number
  /** delete.retention.ms: how long a tombstone stays after the cleaner first reached it. */
  readonly deleteRetentionMs: number
}

/** Whether the cleaner keeps `r`. */
export function survives(r: CleanableRecord, rules: SurvivalRules): boolean {
  if (r.key === null) return true
  if (rules.latest.get(r.key) !== r.offset) return false
  if (!r.tombstone) return true
  const reached = firstReachedAt(rules.passes, r.offset)
  return reached === null || rules.nowMs - reached < rules.deleteRetentionMs
}

/**
 * The passes after one that reached offsets below `end` at `nowMs`: appended when it reaches further than the last
 * entry, and trimmed to MAX_CLEANER_PASSES by merging the oldest interior entry into its successor (a later time).
 */
export function recordPass(passes: CleanerPasses, end: number, nowMs: number): CleanerPasses {
  const last = passes.at(-1)
  if (last !== undefined && end <= last.end) return passes
  const next = [...passes, { end, atMs: Math.max(nowMs, last?.atMs ?? nowMs) }]
  while (next.length > MAX_CLEANER_PASSES) next.splice(1, 1)
  return next
}

/** Drops pass entries below the log start (nothing left for them to date). */
export function passesFrom(passes: CleanerPasses, logStartOffset: number): CleanerPasses {
  let i = 0
  while (i < passes.length - 1 && passes[i]!.end <= logStartOffset) i++
  return passes.slice(i)
}

export function encodeCleanerPasses(passes: CleanerPasses): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ version: 1, passes }))
}

/** null when the bytes are not a valid checkpoint (the caller then starts with no pass: tombstones live longer). */
export function decodeCleanerPasses(bytes: Uint8Array): CleanerPasses | null {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes))
    if (typeof parsed !== 'object' || parsed === null || !('passes' in parsed) || !Array.isArray(parsed.passes)) return null
    const items: unknown[] = parsed.passes
    const out: CleanerPass[] = []
    for (const p of items) {
      if (typeof p !== 'object' || p === null || !('end' in p) || !('atMs' in p)) return null
      const { end, atMs } = p
      if (!Number.isSafeInteger(end) || !Number.isSafeInteger(atMs)) return null
      if (typeof end !== 'number' || typeof atMs !== 'number') return null
      const prev = out.at(-1)
      if (prev && (end <= prev.end || atMs < prev.atMs)) return null
      out.push({ end, atMs })
    }
    return out
  } catch {
    return null
  }
}
