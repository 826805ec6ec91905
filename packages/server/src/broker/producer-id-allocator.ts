/** @module Producer-id allocation: ids are unique across restarts because blocks of ids are reserved durably before use. */
import { SamsaError } from '@samsa/shared'
import type { LogStorage } from '../log/log-storage.js'

const BLOCK_SIZE = 1000
const CHECKPOINT = 'meta/producer-id-block.json'
const MAX_EPOCH = 32767

export class ProducerIdAllocator {
  readonly #storage: LogStorage
  /** Next id to hand out; invariant: #next < #blockEnd or a new block must be reserved first. */
  #next = 0
  /** Ids below this are reserved on disk. */
  #blockEnd = 0
  #reserving: Promise<void> | null = null

  private constructor(storage: LogStorage) {
    this.#storage = storage
  }

  static async open(storage: LogStorage): Promise<ProducerIdAllocator> {
    const a = new ProducerIdAllocator(storage)
    await storage.ensureDir('meta')
    const bytes = await storage.readFile(CHECKPOINT)
    if (bytes) {
      const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { nextBlockStart: number }
      a.#next = a.#blockEnd = parsed.nextBlockStart
    }
    return a
  }

  /**
   * producerId −1: a new id at epoch 0. A known id: the same id with its epoch bumped (fencing the
   * previous instance); at the epoch limit a new id is allocated instead.
   */
  async init(producerId: number, producerEpoch: number): Promise<{ producerId: number; producerEpoch: number }> {
    if (producerId >= 0) {
      if (producerId >= this.#blockEnd) throw new SamsaError('UNKNOWN_PRODUCER_ID', `producer id ${producerId} was never allocated by this broker`)
      if (producerEpoch < MAX_EPOCH) return { producerId, producerEpoch: Math.max(0, producerEpoch + 1) }
    } else if (producerId !== -1) {
      throw new SamsaError('INVALID_REQUEST', `producerId must be -1 or a non-negative id, got ${producerId}`)
    }
    while (this.#next >= this.#blockEnd) await this.#reserve()
    return { producerId: this.#next++, producerEpoch: 0 }
  }

  #reserve(): Promise<void> {
    this.#reserving ??= (async () => {
      const end = this.#blockEnd + BLOCK_SIZE
      await this.#storage.writeFileAtomic(CHECKPOINT, new TextEncoder().encode(JSON.stringify({ nextBlockStart: end })))
      this.#blockEnd = end
    })().finally(() => {
      this.#reserving = null
    })
    return this.#reserving
  }
}
