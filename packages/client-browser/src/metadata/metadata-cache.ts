/** @module Cached topic metadata (partition counts) fetched with `metadata`; invalidated on UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER. */
import { SamsaError, errorByCode, metadata, type MetadataResponse, type TopicMetadata } from '@samsa/shared'
import type { Connection } from '../connection/connection.js'

export class MetadataCache {
  readonly #conn: Connection
  /** One in-flight or settled lookup per topic; a failed lookup is removed so the next call retries. */
  readonly #topics = new Map<string, Promise<TopicMetadata>>()

  constructor(conn: Connection) {
    this.#conn = conn
  }

  fetch(topics: readonly string[] | null): Promise<MetadataResponse> {
    return this.#conn.request(metadata, { topics })
  }

  topic(name: string): Promise<TopicMetadata> {
    let p = this.#topics.get(name)
    if (p === undefined) {
      p = this.fetch([name]).then((res) => {
        const t = res.topics.find((x) => x.name === name)
        if (t === undefined) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', `metadata has no topic ${name}`)
        if (t.errorCode !== 0) throw new SamsaError(errorByCode(t.errorCode), `topic ${name}: ${errorByCode(t.errorCode).message}`)
        return t
      })
      this.#topics.set(name, p)
      p.catch(() => {
        if (this.#topics.get(name) === p) this.#topics.delete(name)
      })
    }
    return p
  }

  async partitionCount(name: string): Promise<number> {
    return (await this.topic(name)).partitions.length
  }

  invalidate(name: string): void {
    this.#topics.delete(name)
  }
}
