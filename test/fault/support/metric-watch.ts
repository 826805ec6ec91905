/**
 * @module MetricWatch: polls one node's metric (straight to its port, so it works while the node is cut off) every
 * `intervalMs`, to tell from the outside when that node last did something: e.g. `samsa_produce_latency_seconds_count`
 * grows only when the broker answers a produce successfully (it acknowledged a write). Counters only.
 */
import type { FaultCluster } from './cluster.js'

export interface MetricSample {
  readonly timeMs: number
  readonly value: number
}

export class MetricWatch {
  readonly samples: MetricSample[] = []
  #stopped = false
  #loop: Promise<void> = Promise.resolve()

  readonly #read: () => Promise<number | null>
  readonly #now: () => number

  private constructor(read: () => Promise<number | null>, now: () => number) {
    this.#read = read
    this.#now = now
  }

  static start(cluster: FaultCluster, id: number, name: string, opts: { intervalMs?: number; now?: () => number } = {}): MetricWatch {
    const w = new MetricWatch(() => cluster.metric(id, name), opts.now ?? (() => performance.now()))
    w.#loop = (async () => {
      while (!w.#stopped) {
        await w.sampleNow()
        await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50))
      }
    })()
    return w
  }

  /** Reads the metric now (e.g. right before a fault, so the growth after it is measured from there). */
  async sampleNow(): Promise<void> {
    const value = await this.#read()
    if (value !== null) this.samples.push({ timeMs: this.#now(), value })
    this.samples.sort((a, b) => a.timeMs - b.timeMs)
  }

  /** The highest value read at or before `timeMs` (0 before any): the metric is a counter. */
  valueAt(timeMs: number): number {
    let v = 0
    for (const s of this.samples) if (s.timeMs <= timeMs && s.value > v) v = s.value
    return v
  }

  /** How much the value grew between two times (as far as the samples tell). */
  growth(fromMs: number, toMs: number): number {
    return this.valueAt(toMs) - this.valueAt(fromMs)
  }

  /**
   * The time of the first sample showing the value it had at `toMs`: the last growth up to then happened at or
   * before it (and after the sample before it). Null when it never grew after `fromMs`.
   */
  lastGrowthBefore(toMs: number, fromMs = -Infinity): number | null {
    const final = this.valueAt(toMs)
    if (final === this.valueAt(fromMs)) return null
    return this.samples.find((s) => s.timeMs > fromMs && s.timeMs <= toMs && s.value === final)?.timeMs ?? null
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#loop
  }
}
