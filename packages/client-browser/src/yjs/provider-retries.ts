/**
 * @module How a Yjs provider waits and retries: exponential backoff (100 ms doubling up to 5 s) while an error is
 * retriable, and a few times on UNKNOWN_TOPIC_OR_PARTITION while the provider creates its topics (a topic another
 * client is creating right now answers TOPIC_ALREADY_EXISTS before it is visible).
 *
 * Invariant: `stop()` (the provider is destroyed) ends every wait at once and later waits end at once, so a
 * destroyed provider holds no timer; a retry loop that sees it stopped rethrows the last error instead of trying again.
 */
import { isRetriable } from './records.js'

const RETRY_BASE_MS = 100
const RETRY_CAP_MS = 5_000
/** Attempts that may see UNKNOWN_TOPIC_OR_PARTITION while the topics are being created. */
const TOPIC_CREATION_ATTEMPTS = 6

export class ProviderRetries {
  readonly #createTopics: boolean
  readonly #stopped: () => boolean
  /** Timers and the waits they end (stop() clears them and ends the waits). */
  readonly #timers = new Map<ReturnType<typeof setTimeout>, () => void>()

  constructor(createTopics: boolean, stopped: () => boolean) {
    this.#createTopics = createTopics
    this.#stopped = stopped
  }

  /** An unknown topic while this provider creates its topics, at an attempt that may still see it. */
  creatingTopic(error: unknown, attempt: number): boolean {
    return this.#createTopics && attempt < TOPIC_CREATION_ATTEMPTS && (error as { errorName?: unknown })?.errorName === 'UNKNOWN_TOPIC_OR_PARTITION'
  }

  /** Runs fn until it succeeds, waiting out retriable errors (and unknown topics while creating them). */
  async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn()
      } catch (error) {
        if (this.#stopped() || !(isRetriable(error) || this.creatingTopic(error, attempt))) throw error
        await this.backoff(attempt)
        if (this.#stopped()) throw error
      }
    }
  }

  /** Waits the backoff of the attempt (numbered from 0). */
  backoff(attempt: number): Promise<void> {
    return this.#sleep(Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt))
  }

  /** Ends every wait now (they resolve). */
  stop(): void {
    for (const [timer, end] of this.#timers) {
      clearTimeout(timer)
      end()
    }
    this.#timers.clear()
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped()) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        resolve()
      }, ms)
      this.#timers.set(timer, resolve)
    })
  }
}
