/**
 * @module deleteTopic: deletes a topic and all its partitions' data.
 *
 * Request:  name string
 * Response: (empty)
 */
import { ApiKeys } from '../api-keys.js'
import { withBrokerSide, type ClientExchange, type Exchange } from '../exchange.js'

export interface DeleteTopicRequest {
  readonly name: string
}

/** What a client sends and reads: the request's encoder and the response's decoder. */
export const deleteTopicClientSide: ClientExchange<DeleteTopicRequest, Record<string, never>> = {
  apiKey: ApiKeys.DELETE_TOPIC,
  name: 'deleteTopic',
  encodeRequest: (w, q) => void w.string(q.name),
  decodeResponse: (r) => {
    r.end()
    return {}
  },
}

export const deleteTopic: Exchange<DeleteTopicRequest, Record<string, never>> = /* @__PURE__ */ withBrokerSide(deleteTopicClientSide, {
  decodeRequest: (r) => {
    const q = { name: r.string() }
    r.end()
    return q
  },
  encodeResponse: () => {},
})
