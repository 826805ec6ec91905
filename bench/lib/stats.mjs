// Small numeric helpers: percentiles over a sample array, rates, rounding.

/** Percentile by nearest rank on a sorted copy; q in [0, 1]. */
export function percentile(sorted, q) {
  if (sorted.length === 0) return null
  const rank = Math.ceil(q * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}

/** Summary of latency samples in ms: count, min, mean, p50, p90, p99, p999, max. */
export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort()
  let sum = 0
  for (const v of sorted) sum += v
  return {
    count: sorted.length,
    minMs: round(sorted[0] ?? null, 3),
    meanMs: round(sorted.length ? sum / sorted.length : null, 3),
    p50Ms: round(percentile(sorted, 0.5), 3),
    p90Ms: round(percentile(sorted, 0.9), 3),
    p99Ms: round(percentile(sorted, 0.99), 3),
    p999Ms: round(percentile(sorted, 0.999), 3),
    maxMs: round(sorted.length ? sorted[sorted.length - 1] : null, 3),
  }
}

export function round(v, digits = 2) {
  if (v === null || v === undefined || !Number.isFinite(v)) return v ?? null
  const f = 10 ** digits
  return Math.round(v * f) / f
}

/** records/s and MB/s (10^6 bytes of record payload per second). */
export function rates(records, recordBytes, elapsedMs) {
  const seconds = elapsedMs / 1000
  return {
    recordsPerSec: Math.round(records / seconds),
    mbPerSec: round((records * recordBytes) / 1e6 / seconds, 2),
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves when predicate() is true, polling every stepMs; rejects after timeoutMs. */
export async function waitFor(predicate, timeoutMs, what = 'condition', stepMs = 5) {
  const deadline = performance.now() + timeoutMs
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(stepMs)
  }
}

/** Races a promise against a deadline. */
export function withTimeout(promise, timeoutMs, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs) }),
  ]).finally(() => clearTimeout(timer))
}
