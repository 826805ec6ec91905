/**
 * @module The records a subscription has received and not yet handed to the application: one FIFO per partition
 * (offset order), delivered across partitions in arrival order, skipping paused partitions (their records stay
 * buffered, in place, until resumed or discarded).
 */
import { Fifo } from './fifo.js'
import type { ConsumerRecord } from './consumer-record.js'

export interface Queued {
  readonly record: ConsumerRecord
  /** Push bytes released (credited back) when this record is consumed. */
  readonly creditBytes: number
  /** Which push it came in: `process` batches are the records of one push (pushes are per partition). */
  readonly push: number
}

interface Entry extends Queued {
  /** Arrival order across partitions. */
  readonly seq: number
}

export class DeliveryQueue {
  readonly #byPartition = new Map<number, Fifo<Entry>>()
  /** Partitions with at least one buffered record; the only ones `peek` scans. */
  readonly #nonEmpty = new Set<number>()
  readonly #paused = new Set<number>()
  #seq = 0
  #length = 0
  #pushes = 0

  /** A fresh push number (`Queued.push`). */
  nextPush(): number {
    return this.#pushes++
  }

  /** Records buffered, paused partitions included. */
  get length(): number {
    return this.#length
  }

  /** Records buffered for one partition. */
  count(partition: number): number {
    return this.#byPartition.get(partition)?.length ?? 0
  }

  push(item: Queued): void {
    const partition = item.record.partition
    let fifo = this.#byPartition.get(partition)
    if (fifo === undefined) this.#byPartition.set(partition, (fifo = new Fifo()))
    fifo.push({ ...item, seq: this.#seq++ })
    this.#nonEmpty.add(partition)
    this.#length++
  }

  /** Replaces the partition's newest record (e.g. to attach the push's credit to its last record). */
  replaceLast(item: Queued): void {
    const fifo = this.#byPartition.get(item.record.partition)
    const last = fifo?.last()
    if (last !== undefined) fifo!.replaceLast({ ...item, seq: last.seq })
  }

  /** The next record to deliver: the earliest arrival among partitions that are not paused. */
  peek(): Queued | undefined {
    let best: Entry | undefined
    for (const partition of this.#nonEmpty) {
      if (this.#paused.has(partition)) continue
      const head = this.#byPartition.get(partition)!.peek()!
      if (best === undefined || head.seq < best.seq) best = head
    }
    return best
  }

  shift(): Queued | undefined {
    const next = this.peek()
    if (next === undefined) return undefined
    const partition = next.record.partition
    const fifo = this.#byPartition.get(partition)!
    fifo.shift()
    this.#length--
    if (fifo.length === 0) this.#nonEmpty.delete(partition)
    return next
  }

  /** Drops every buffered record of the partition; returns how many. */
  discard(partition: number): number {
    const n = this.count(partition)
    this.#byPartition.delete(partition)
    this.#nonEmpty.delete(partition)
    this.#length -= n
    return n
  }

  pause(partitions: Iterable<number>): void {
    for (const p of partitions) this.#paused.add(p)
  }

  resume(partitions: Iterable<number>): void {
    for (const p of partitions) this.#paused.delete(p)
  }

  isPaused(partition: number): boolean {
    return this.#paused.has(partition)
  }

  get paused(): ReadonlySet<number> {
    return this.#paused
  }
}
