/**
 * @module createTopic: creates one topic with N partitions.
 *
 * Request:  name string, partitions i32
 * Response: name string, partitions i32
 */
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'

export interface CreateTopicRequest {
  readonly name: string
  readonly partitions: number
}

export interface CreateTopicResponse {
  readonly name: string
  readonly partitions: number
}

export const createTopic: Exchange<CreateTopicRequest, CreateTopicResponse> = {
  apiKey: ApiKeys.CREATE_TOPIC,
  name: 'createTopic',
  encodeRequest: (w, q) => void w.string(q.name).i32(q.partitions),
  decodeRequest: (r) => {
    const q = { name: r.string(), partitions: r.i32() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => void w.string(s.name).i32(s.partitions),
  decodeResponse: (r) => {
    const s = { name: r.string(), partitions: r.i32() }
    r.end()
    return s
  },
}
