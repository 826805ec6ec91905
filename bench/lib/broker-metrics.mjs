// Scrapes the broker's /metrics (Prometheus text) for the produce-latency histogram, so a run can report how
// long the broker itself held produce requests (append + fsync) apart from network and client time.
// The broker reports seconds (samsa_produce_latency_seconds); this module converts to milliseconds.

export async function scrapeProduceLatency(httpUrl) {
  try {
    const res = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(3_000) })
    if (!res.ok) return null
    const text = await res.text()
    const buckets = []
    let sum = null
    let count = null
    for (const line of text.split('\n')) {
      if (line.startsWith('samsa_produce_latency_seconds_bucket')) {
        const m = /le="([^"]+)"\}\s+([0-9.e+-]+)/.exec(line)
        if (m) buckets.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000, count: Number(m[2]) })
      } else if (line.startsWith('samsa_produce_latency_seconds_sum')) {
        sum = Number(line.split(/\s+/)[1]) * 1000
      } else if (line.startsWith('samsa_produce_latency_seconds_count')) {
        count = Number(line.split(/\s+/)[1])
      }
    }
    if (count === null) return null
    return { buckets, sum, count }
  } catch {
    return null
  }
}

/** Difference of two scrapes: request count, mean ms, and bucket upper bounds for p50 / p99. */
export function produceLatencyDelta(before, after) {
  if (!before || !after) return null
  const count = after.count - before.count
  if (count <= 0) return null
  const buckets = after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before.buckets[i]?.count ?? 0) }))
  const upper = (q) => {
    const want = q * count
    for (const b of buckets) if (b.count >= want) return b.le === Infinity ? null : b.le
    return null
  }
  return {
    requests: count,
    meanMs: Math.round(((after.sum - before.sum) / count) * 100) / 100,
    p50AtMostMs: upper(0.5),
    p99AtMostMs: upper(0.99),
  }
}
