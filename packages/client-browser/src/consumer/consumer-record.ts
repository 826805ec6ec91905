/** @module A record as delivered to the application, with UTF-8 and JSON helpers. */
import type { RecordHeader } from '@samsa/shared'

const decoder = new TextDecoder()

/** What a record is made of, as decoded from a push. */
export interface ConsumerRecordFields {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly timestamp: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
  readonly rawHeaders: readonly RecordHeader[]
  readonly leaderEpoch: number
}

export class ConsumerRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  /** ms since the epoch. */
  readonly timestamp: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
  /** Header values decoded as UTF-8 (null values become ''); the bytes are in rawHeaders. */
  readonly headers: Readonly<Record<string, string>>
  readonly rawHeaders: readonly RecordHeader[]
  /** The partition leader epoch stamped on the record's batch. */
  readonly leaderEpoch: number
  readonly #commit: (() => Promise<void>) | null

  constructor(
    f: ConsumerRecordFields,
    commit: (() => Promise<void>) | null = null,
  ) {
    this.#commit = commit
    this.topic = f.topic
    this.partition = f.partition
    this.offset = f.offset
    this.timestamp = f.timestamp
    this.key = f.key
    this.value = f.value
    this.rawHeaders = f.rawHeaders
    this.leaderEpoch = f.leaderEpoch
    const headers: Record<string, string> = {}
    for (const h of f.rawHeaders) headers[h.key] = h.value === null ? '' : decoder.decode(h.value)
    this.headers = headers
  }

  /**
   * Stores this record's position (offset + 1, its leader epoch) for the consumer id, so a reload resumes after it.
   * Only for subscriptions with `from: 'stored'`; never moves the stored position backwards. Resolves once written.
   */
  commit(): Promise<void> {
    if (this.#commit === null) return Promise.reject(new TypeError("record.commit() needs a subscription with from: 'stored'"))
    return this.#commit()
  }

  /** The value as UTF-8 text ('' for a null value). */
  text(): string {
    return this.value === null ? '' : decoder.decode(this.value)
  }

  /** The key as UTF-8 text, or null. */
  keyText(): string | null {
    return this.key === null ? null : decoder.decode(this.key)
  }

  /** The value parsed as JSON; throws SyntaxError if it is not JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T
  }
}
