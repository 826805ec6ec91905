/**
 * @module MetadataWaits: leader watches (metadata requests with a wait), held until this broker's metadata image
 * differs from what the client said it knows, then answered like any metadata request.
 *
 * "Differs" (`differsFrom`): for some named topic, the topic exists here and the client knew none (or the other way
 * round), its partition count is not the one the client knows, or a partition's leader epoch is above the client's.
 * Leader epochs only grow, so an answer never sends a client back to an older leader.
 *
 * Invariants: every held wait ends exactly once — at the first image change that differs, at its maxWaitMs, when its
 * connection closes, or at `close()` — and its timer is cleared then; a wait that already differs when asked is never
 * held. The number held is bounded by the session layer (a held request counts against the connection's in-flight
 * limit, and connections are bounded); `size` is exported as a metric.
 */
import type { MetadataWait } from '@samsa/shared'
import type { Clock, Timer } from '../clock.js'
import type { MetadataImage } from '../controller/metadata/index.js'

/** True when the image tells the client something new about one of the named topics. */
export function differsFrom(image: MetadataImage, topics: readonly string[], leaderEpochs: readonly (readonly number[])[]): boolean {
  return topics.some((name, i) => {
    const known = leaderEpochs[i] ?? []
    const t = image.topics.get(name)
    if (t === undefined) return known.length > 0
    if (t.partitions.length !== known.length) return true
    return t.partitions.some((p, k) => p.leaderEpoch > known[k]!)
  })
}

interface Held {
  readonly topics: readonly string[]
  readonly leaderEpochs: readonly (readonly number[])[]
  readonly done: () => void
}

export class MetadataWaits {
  readonly #image: () => MetadataImage
  readonly #clock: Clock
  readonly #held = new Set<Held>()

  constructor(image: () => MetadataImage, clock: Clock) {
    this.#image = image
    this.#clock = clock
  }

  /** Waits held now. */
  get size(): number {
    return this.#held.size
  }

  /**
   * Resolves once the image differs from `wait` for `topics`, after `wait.maxWaitMs`, or when `onCancel` fires (the
   * connection closed). Never rejects: the caller answers with the metadata as it is then.
   */
  wait(topics: readonly string[], wait: MetadataWait, onCancel: (cancel: () => void) => () => void): Promise<void> {
    if (wait.maxWaitMs <= 0 || differsFrom(this.#image(), topics, wait.leaderEpochs)) return Promise.resolve()
    return new Promise((resolve) => {
      let timer: Timer | null = null
      let unregister = () => {}
      const held: Held = {
        topics,
        leaderEpochs: wait.leaderEpochs,
        done: () => {
          if (!this.#held.delete(held)) return
          if (timer !== null) this.#clock.clearTimeout(timer)
          unregister()
          resolve()
        },
      }
      this.#held.add(held)
      timer = this.#clock.setTimeout(held.done, wait.maxWaitMs)
      unregister = onCancel(held.done)
    })
  }

  /** Called with each new image: answers every wait it differs for. */
  imageChanged(after: MetadataImage): void {
    for (const h of [...this.#held]) if (differsFrom(after, h.topics, h.leaderEpochs)) h.done()
  }

  /** Answers every held wait now (the broker is shutting down). */
  close(): void {
    for (const h of [...this.#held]) h.done()
  }
}
