/**
 * @module GroupCommit: one fsync at a time covering every batch written before it started; appends wait for the
 * first fsync that covers their offset, so a burst of appends costs a few fsyncs, not one each (R1). A failed
 * fsync is never retried (R9): it fails every waiter now and later.
 */

interface Waiter {
  readonly offset: number
  readonly resolve: () => void
  readonly reject: (e: Error) => void
}

export interface GroupCommitDeps {
  /** The offset every byte written so far ends at (captured just before each fsync starts). */
  readonly writtenEnd: () => number
  /** fsyncs every byte written so far. */
  readonly sync: () => Promise<void>
  /** Called after each successful fsync with the offset now durable, before waiters resolve. */
  readonly onDurable: (durableEnd: number) => void
  /** Called once, with the first fsync error. */
  readonly onFailure: (error: Error) => void
}

export class GroupCommit {
  readonly #deps: GroupCommitDeps
  /** Offsets below it are on stable storage; only grows, except when the log is truncated below it. */
  #durableEnd: number
  /** Sticky: once set, every waitFor rejects with it. */
  #failure: Error | null = null
  #running = false
  #waiters: Waiter[] = []
  #syncCount = 0

  constructor(deps: GroupCommitDeps, durableEnd: number) {
    this.#deps = deps
    this.#durableEnd = durableEnd
  }

  get durableEnd(): number {
    return this.#durableEnd
  }

  /** fsyncs issued so far. */
  get syncCount(): number {
    return this.#syncCount
  }

  get failure(): Error | null {
    return this.#failure
  }

  /** Resolves once every offset below offset is durable, starting an fsync if none is running. */
  waitFor(offset: number): Promise<void> {
    return this.register(offset, true)
  }

  /**
   * Like waitFor, but with kick false it only queues the waiter, so a writer with more writes queued behind it
   * lets them join the same fsync; the last writer (or kick()) starts it.
   */
  register(offset: number, kick: boolean): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure)
    if (offset <= this.#durableEnd) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ offset, resolve, reject })
      if (kick) void this.#run()
    })
  }

  /** Starts an fsync for the queued waiters unless one is running (it then picks them up when it ends). */
  kick(): void {
    if (this.#waiters.length > 0) void this.#run()
  }

  get waiting(): number {
    return this.#waiters.length
  }

  /** The log was cut to end at `end` (with no waiter left): the durable end follows it down. */
  truncatedTo(end: number): void {
    if (end < this.#durableEnd) this.#durableEnd = end
  }

  /** Rejects every waiter (used when the log closes without a final sync). */
  abort(error: Error): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w.reject(error)
  }

  async #run(): Promise<void> {
    if (this.#running) return
    this.#running = true
    try {
      while (this.#waiters.length > 0 && this.#failure === null) {
        const target = this.#deps.writtenEnd()
        this.#syncCount++
        try {
          await this.#deps.sync()
        } catch (e) {
          this.#failure = e instanceof Error ? e : new Error(String(e))
          this.#deps.onFailure(this.#failure)
          this.abort(this.#failure)
          return
        }
        if (target > this.#durableEnd) {
          this.#durableEnd = target
          this.#deps.onDurable(target)
        }
        const ready = this.#waiters.filter((w) => w.offset <= this.#durableEnd)
        this.#waiters = this.#waiters.filter((w) => w.offset > this.#durableEnd)
        for (const w of ready) w.resolve()
        if (ready.length === 0 && this.#waiters.length > 0 && target <= this.#durableEnd && this.#deps.writtenEnd() <= target) {
          // Waiters ask for offsets not written yet: they will call again after their write.
          break
        }
      }
    } finally {
      this.#running = false
    }
  }
}
