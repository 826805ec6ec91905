/**
 * @module Producer-id allocation and epoch bumps. Ids are unique across restarts because blocks of ids are reserved
 * durably before use. An epoch bump follows KIP-360: only the holder of an id's current (id, epoch) pair can bump
 * it, and the new epoch is durable before it is answered, so a fenced instance can never take its id back.
 * Ids may carry a principal's tag above their base (producer-id-binding.ts): allocation and expiry go by the base,
 * epochs by the whole id (two principals' ids on one base are two producers).
 */
import { SamsaError } from '@samsa/shared'
import type { LogStorage } from '../log/log-storage.js'
import { producerIdBase } from '../security/authorization/producer-id-binding.js'

const BLOCK_SIZE = 1000
const BLOCK_CHECKPOINT = 'meta/producer-id-block.json'
const EPOCHS_CHECKPOINT = 'meta/producer-epochs.json'
const MAX_EPOCH = 32767
/** Bumped ids whose epoch is remembered; past it the lowest ids expire. Each bump rewrites them (≈ 20 bytes each). */
export const DEFAULT_MAX_TRACKED_EPOCHS = 10_000

export interface ProducerIdAllocatorOptions {
  readonly maxTrackedEpochs?: number
  /** Called with the number of ids whose bumped epoch is remembered, after open and after each bump (a gauge). */
  readonly tracked?: (count: number) => void
}

interface EpochsFile {
  /** Ids below this have expired: they can no longer be bumped. */
  readonly expiredBelow: number
  readonly epochs: readonly (readonly [number, number])[]
}

const enc = new TextEncoder()
const dec = new TextDecoder()

export class ProducerIdAllocator {
  readonly #storage: LogStorage
  readonly #maxTracked: number
  readonly #tracked: (count: number) => void
  /** Next id to hand out; invariant: #next < #blockEnd or a new block must be reserved first. Ids below it may be held. */
  #next = 0
  /** Ids below this are reserved on disk. */
  #blockEnd = 0
  #reserving: Promise<void> | null = null
  /** In a cluster: blocks come from the controller (the metadata log) instead of the local checkpoint. */
  #blockSource: (() => Promise<{ firstProducerId: number; size: number }>) | null = null
  /** Current epoch of every id bumped at least once (others are at epoch 0); ≤ #maxTracked entries, all ≥ #expiredBelow. */
  readonly #epochs = new Map<number, number>()
  #expiredBelow = 0
  /** Bumps run one at a time: each check-then-write must see the previous one's result. */
  #bumps: Promise<unknown> = Promise.resolve()

  private constructor(storage: LogStorage, opts: ProducerIdAllocatorOptions) {
    this.#storage = storage
    this.#maxTracked = Math.max(1, opts.maxTrackedEpochs ?? DEFAULT_MAX_TRACKED_EPOCHS)
    this.#tracked = opts.tracked ?? (() => {})
  }

  static async open(storage: LogStorage, opts: ProducerIdAllocatorOptions = {}): Promise<ProducerIdAllocator> {
    const a = new ProducerIdAllocator(storage, opts)
    await storage.ensureDir('meta')
    const block = await storage.readFile(BLOCK_CHECKPOINT)
    if (block) {
      const parsed = JSON.parse(dec.decode(block)) as { nextBlockStart: number }
      a.#next = a.#blockEnd = parsed.nextBlockStart
    }
    const epochs = await storage.readFile(EPOCHS_CHECKPOINT)
    if (epochs) {
      const parsed = JSON.parse(dec.decode(epochs)) as EpochsFile
      a.#expiredBelow = parsed.expiredBelow
      for (const [id, epoch] of parsed.epochs) a.#epochs.set(id, epoch)
      a.#expire()
    }
    a.#tracked(a.#epochs.size)
    return a
  }

  /**
   * producerId −1: a new id at epoch 0. (id, epoch) of an id this broker gave out: when epoch is the id's current
   * one, the same id at epoch + 1 (fencing every instance still on an older epoch); at the epoch limit a new id
   * instead. Any other epoch: INVALID_PRODUCER_EPOCH (the error never names the current epoch). An id never given
   * out, or expired: UNKNOWN_PRODUCER_ID (ask for a new one with −1).
   */
  async init(producerId: number, producerEpoch: number): Promise<{ producerId: number; producerEpoch: number }> {
    if (producerId === -1) return this.#allocate()
    if (!Number.isSafeInteger(producerId) || producerId < 0) throw new SamsaError('INVALID_REQUEST', `producerId must be -1 or a non-negative id, got ${producerId}`)
    const run = this.#bumps.then(() => this.#bump(producerId, producerEpoch))
    this.#bumps = run.catch(() => {})
    return run
  }

  async #bump(producerId: number, producerEpoch: number): Promise<{ producerId: number; producerEpoch: number }> {
    const base = producerIdBase(producerId)
    if (base >= this.#next) throw new SamsaError('UNKNOWN_PRODUCER_ID', `producer id ${producerId} was never allocated by this broker; ask for a new one with producerId -1`)
    if (base < this.#expiredBelow) throw new SamsaError('UNKNOWN_PRODUCER_ID', `producer id ${producerId} has expired; ask for a new one with producerId -1`)
    const current = this.#epochs.get(producerId) ?? 0
    if (producerEpoch !== current) {
      throw new SamsaError('INVALID_PRODUCER_EPOCH', `producer id ${producerId} is not at epoch ${producerEpoch}: only its current holder can bump it; ask for a new id with producerId -1`)
    }
    if (current >= MAX_EPOCH) return this.#allocate()
    const next = new Map(this.#epochs).set(producerId, current + 1)
    const { expiredBelow, epochs } = expireLowest(next, this.#expiredBelow, this.#maxTracked)
    const file: EpochsFile = { expiredBelow, epochs: [...epochs] }
    await this.#storage.writeFileAtomic(EPOCHS_CHECKPOINT, enc.encode(JSON.stringify(file)))
    this.#epochs.clear()
    for (const [id, e] of epochs) this.#epochs.set(id, e)
    this.#expiredBelow = expiredBelow
    this.#tracked(this.#epochs.size)
    return { producerId, producerEpoch: current + 1 }
  }

  /** Applies a lowered bound to what was read from disk (in memory only; the next bump writes it). */
  #expire(): void {
    const { expiredBelow, epochs } = expireLowest(this.#epochs, this.#expiredBelow, this.#maxTracked)
    this.#expiredBelow = expiredBelow
    for (const id of [...this.#epochs.keys()]) if (!epochs.has(id)) this.#epochs.delete(id)
  }

  async #allocate(): Promise<{ producerId: number; producerEpoch: number }> {
    while (this.#next >= this.#blockEnd) await this.#reserve()
    return { producerId: this.#next++, producerEpoch: 0 }
  }

  /**
   * Clustered mode, before any id is handed out: every later block comes from `source` (the controller), so no two
   * brokers share an id; the local block is given up.
   */
  useBlockSource(source: () => Promise<{ firstProducerId: number; size: number }>): void {
    this.#blockSource = source
    this.#blockEnd = this.#next
  }

  #reserve(): Promise<void> {
    const source = this.#blockSource
    if (source) {
      this.#reserving ??= source()
        .then((b) => {
          this.#next = b.firstProducerId
          this.#blockEnd = b.firstProducerId + b.size
        })
        .finally(() => {
          this.#reserving = null
        })
      return this.#reserving
    }
    this.#reserving ??= (async () => {
      const end = this.#blockEnd + BLOCK_SIZE
      await this.#storage.writeFileAtomic(BLOCK_CHECKPOINT, enc.encode(JSON.stringify({ nextBlockStart: end })))
      this.#blockEnd = end
    })().finally(() => {
      this.#reserving = null
    })
    return this.#reserving
  }
}

/** Drops the ids of the lowest bases until at most `max` remain; every id whose base is at or below a dropped one's expires with it. */
function expireLowest(epochs: ReadonlyMap<number, number>, expiredBelow: number, max: number): { expiredBelow: number; epochs: Map<number, number> } {
  const ids = [...epochs.keys()].filter((id) => producerIdBase(id) >= expiredBelow).sort((a, b) => producerIdBase(a) - producerIdBase(b) || a - b)
  const drop = Math.max(0, ids.length - max)
  const floor = drop > 0 ? producerIdBase(ids[drop - 1]!) + 1 : expiredBelow
  return { expiredBelow: floor, epochs: new Map(ids.slice(drop).map((id) => [id, epochs.get(id)!])) }
}
