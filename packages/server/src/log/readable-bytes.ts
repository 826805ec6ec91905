/**
 * @module ReadableBytes: a byte position that grows with the high watermark (the bytes of every batch below it
 * written since the log was opened), so a fetch can wait for minBytes without reading the log while it waits.
 */

export class ReadableBytes {
  /** Batch bytes written since open. */
  #written = 0
  /** #written at the high watermark; only grows. */
  #position = 0
  /** (end offset, #written after it) of each batch written at or above the high watermark, oldest first from #head. */
  readonly #above: { endOffset: number; endBytes: number }[] = []
  #head = 0

  /** Bytes below the high watermark written since open; only differences mean something. */
  get position(): number {
    return this.#position
  }

  /** A batch of `bytes` ending before `endOffset` was written at the log end. */
  written(endOffset: number, bytes: number): void {
    this.#written += bytes
    this.#above.push({ endOffset, endBytes: this.#written })
  }

  /** The high watermark moved to `highWatermark`. */
  advancedTo(highWatermark: number): void {
    const above = this.#above
    while (this.#head < above.length && above[this.#head]!.endOffset <= highWatermark) this.#position = above[this.#head++]!.endBytes
    if (this.#head > 1024 && this.#head * 2 > above.length) {
      above.splice(0, this.#head)
      this.#head = 0
    }
  }

  /** The log was cut to end at `logEndOffset`: batches written after it are forgotten (the position never goes back). */
  truncatedTo(logEndOffset: number): void {
    while (this.#above.length > this.#head && this.#above.at(-1)!.endOffset > logEndOffset) this.#above.pop()
    this.#written = Math.max(this.#position, this.#above.at(-1)?.endBytes ?? this.#position)
  }
}
