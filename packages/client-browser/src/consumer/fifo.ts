/** @module Fifo: an array-backed queue with O(1) amortised shift (Array.prototype.shift is O(n) on long arrays). */

export class Fifo<T> {
  #items: (T | undefined)[] = []
  /** Index of the first live item; items before it are consumed. */
  #head = 0

  get length(): number {
    return this.#items.length - this.#head
  }

  push(item: T): void {
    this.#items.push(item)
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  /** The oldest item, without removing it. */
  peek(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined
  }

  /** The newest item, without removing it. */
  last(): T | undefined {
    return this.length > 0 ? this.#items[this.#items.length - 1] : undefined
  }

  /** Replaces the newest item. */
  replaceLast(item: T): void {
    if (this.length > 0) this.#items[this.#items.length - 1] = item
  }

  /** Keeps only the items that pass, in order. */
  retain(keep: (item: T) => boolean): void {
    this.#items = (this.#items.slice(this.#head) as T[]).filter(keep)
    this.#head = 0
  }
}
