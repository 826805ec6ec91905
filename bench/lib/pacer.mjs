// Open-loop pacing: every tickMs, hand the records that are due at `ratePerSec` to send(count, seqStart).
// The schedule never waits for acknowledgements; a late tick sends everything that became due (catch-up).

export function runPaced({ ratePerSec, durationMs, tickMs = 2, send }) {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const total = Math.floor((ratePerSec * durationMs) / 1000)
    let sent = 0
    let ticks = 0
    let maxLagMs = 0
    const tick = () => {
      try {
        const now = performance.now()
        const elapsed = now - start
        const due = Math.min(total, Math.floor((ratePerSec * elapsed) / 1000))
        const lag = elapsed - ticks * tickMs
        if (lag > maxLagMs) maxLagMs = lag
        if (due > sent) {
          send(due - sent, sent)
          sent = due
        }
        ticks++
        if (sent >= total) return resolve({ sent, elapsedMs: performance.now() - start, maxTickLagMs: maxLagMs })
        const next = start + ticks * tickMs
        setTimeout(tick, Math.max(0, next - performance.now()))
      } catch (err) {
        reject(err)
      }
    }
    tick()
  })
}
