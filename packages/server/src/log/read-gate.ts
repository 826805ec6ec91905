/**
 * @module ReadGate: lets a log replace a segment file under its readers. Reads run through run(); closed(task) waits
 * for every read in flight, holds new reads back while task runs, then lets them go. A read therefore sees either the
 * segments before the task or after it, never a file replaced halfway through the read (a file handle may be reopened
 * by path: LazyLogStorage). Reads are held only for the task (a rename, a directory fsync, an index write).
 */
export class ReadGate {
  readonly #inFlight = new Set<Promise<unknown>>()
  #closed: Promise<void> | null = null

  async run<T>(read: () => Promise<T>): Promise<T> {
    while (this.#closed !== null) await this.#closed
    const p = read()
    this.#inFlight.add(p)
    try {
      return await p
    } finally {
      this.#inFlight.delete(p)
    }
  }

  /** Runs task with no read in flight and none starting; one task at a time is the caller's rule (exclusive()). */
  async closed<T>(task: () => Promise<T>): Promise<T> {
    let open!: () => void
    this.#closed = new Promise<void>((resolve) => (open = resolve))
    try {
      await Promise.allSettled([...this.#inFlight])
      return await task()
    } finally {
      this.#closed = null
      open()
    }
  }
}
