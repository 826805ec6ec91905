/** @module Cached topic metadata (partition counts) fetched with `metadata`; invalidated on UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER. */
import { ErrorMessages, SamsaError, errorByCode, metadata, type MetadataResponse, type TopicMetadata } from '@samsa/shared'
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
        if (t === undefined) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(name))
        if (t.errorCode !== 0) throw topicError(name, t.errorCode)
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

/** A metadata answer carries only a code per topic: the message is the one wording of that condition. */
function topicError(name: string, code: number): SamsaError {
  const spec = errorByCode(code)
  if (spec.name === 'UNKNOWN_TOPIC_OR_PARTITION') return new SamsaError(spec, ErrorMessages.unknownTopic(name))
  return new SamsaError(spec, `topic ${JSON.stringify(name)}: ${spec.message}`)
}
