/**
 * @module AppliedMetadata: the committed MetadataImage of one node and the one place committed metadata reaches it,
 * on a controller voter (MetadataNode, from its Raft driver) and on a broker-only node (MetadataObserver, from a
 * voter's fetchMetadata answers) alike: a committed batch is decoded and applied at its offset (its Raft index) with
 * `applyBatch`, a snapshot replaces the image by the one it encodes. Listeners see each (before, after) pair in
 * order; waiters resolve once the image satisfies their predicate.
 *
 * Invariants: the image only moves forward by whole committed batches or snapshots; a listener that throws is
 * logged and the others still run.
 */
import { SamsaError, silentLogger, type Logger } from '@samsa/shared'
import type { Clock } from '../clock.js'
import { EMPTY_METADATA_IMAGE, applyBatch, decodeMetadataBatch, decodeMetadataImage, type MetadataImage } from './metadata/index.js'

export type ImageListener = (before: MetadataImage, after: MetadataImage) => void

export class AppliedMetadata {
  readonly #nodeId: number
  readonly #clock: Clock
  readonly #logger: Logger
  #image: MetadataImage = EMPTY_METADATA_IMAGE
  readonly #listeners = new Set<ImageListener>()
  readonly #waiters = new Set<{ pred: (image: MetadataImage) => boolean; resolve: () => void }>()

  constructor(nodeId: number, clock: Clock, logger: Logger = silentLogger) {
    this.#nodeId = nodeId
    this.#clock = clock
    this.#logger = logger
  }

  /** The committed image (what every node agrees on up to its offset). */
  get image(): MetadataImage {
    return this.#image
  }

  /**
   * Applies one committed metadata batch at `offset` (its Raft index); a damaged batch or a broken invariant throws.
   * `settle` runs once the image is replaced and before any listener, for the owner's own bookkeeping.
   */
  applyEntry(offset: number, data: Uint8Array, settle?: (after: MetadataImage) => void): MetadataImage {
    const before = this.#image
    const after = applyBatch(before, decodeMetadataBatch(data), offset)
    this.#set(before, after, settle)
    return after
  }

  /** Replaces the image by the one a snapshot encodes (`settle` as for applyEntry). */
  restore(snapshot: Uint8Array, settle?: (after: MetadataImage) => void): MetadataImage {
    const before = this.#image
    const after = decodeMetadataImage(snapshot)
    this.#set(before, after, settle)
    return after
  }

  /** Runs `listener` after each change of the committed image; returns the unregister function. */
  onImage(listener: ImageListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Resolves once the committed image satisfies `pred` (at once when it does); rejects with REQUEST_TIMED_OUT after timeoutMs. */
  waitFor(pred: (image: MetadataImage) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (pred(this.#image)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: () => {
          this.#clock.clearTimeout(timer)
          resolve()
        },
      }
      const timer = this.#clock.setTimeout(() => {
        this.#waiters.delete(waiter)
        reject(new SamsaError('REQUEST_TIMED_OUT', `${what} was not applied on node ${this.#nodeId} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiters.add(waiter)
    })
  }

  #set(before: MetadataImage, after: MetadataImage, settle: ((after: MetadataImage) => void) | undefined): void {
    this.#image = after
    settle?.(after)
    for (const l of this.#listeners) {
      try {
        l(before, after)
      } catch (err) {
        this.#logger.error({ err }, 'a metadata image listener failed')
      }
    }
    for (const w of [...this.#waiters]) {
      if (!w.pred(after)) continue
      this.#waiters.delete(w)
      w.resolve()
    }
  }
}
