/**
 * @module deleteTopic: deletes a topic and all its partitions' data.
 *
 * Request:  name string
 * Response: (empty)
 */
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'

export interface DeleteTopicRequest {
  readonly name: string
}

export const deleteTopic: Exchange<DeleteTopicRequest, Record<string, never>> = {
  apiKey: ApiKeys.DELETE_TOPIC,
  name: 'deleteTopic',
  encodeRequest: (w, q) => void w.string(q.name),
  decodeRequest: (r) => {
    const q = { name: r.string() }
    r.end()
    return q
  },
  encodeResponse: () => {},
  decodeResponse: (r) => {
    r.end()
    return {}
  },
}
