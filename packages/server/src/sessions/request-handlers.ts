/** @module Request handlers: one line per exchange, from a decoded request to a response (or a thrown SamsaError). */
import {
  ApiKeys, SamsaError,
  type CreateTopicRequest, type CreditRequest, type DeleteTopicRequest, type FetchRequest, type InitProducerIdRequest,
  type ListOffsetsRequest, type MetadataRequest, type ProduceRequest, type SubscribeRequest, type UnsubscribeRequest,
} from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import type { SubscriptionTable } from './subscription-table.js'

interface SessionView {
  readonly subscriptions: SubscriptionTable
  /** Waits for room in the connection's output budget; resolves with the release function. */
  reserveOutput(bytes: number): Promise<() => void>
  /** Runs `fn` when the connection closes (at once if it already has); returns the unregister function. */
  onClose(fn: () => void): () => void
}

/** Returns the response or a promise of it; throws SamsaError for a bad request. */
export function handleRequest(broker: Broker, session: SessionView, apiKey: number, req: unknown): unknown {
  switch (apiKey) {
    case ApiKeys.METADATA:
      return broker.metadata((req as MetadataRequest).topics)
    case ApiKeys.CREATE_TOPIC: {
      const q = req as CreateTopicRequest
      return broker.topics.create(q.name, q.partitions).then((t) => ({ name: t.name, partitions: t.partitions.length }))
    }
    case ApiKeys.DELETE_TOPIC:
      return broker.topics.delete((req as DeleteTopicRequest).name).then(() => ({}))
    case ApiKeys.INIT_PRODUCER_ID: {
      const q = req as InitProducerIdRequest
      return broker.producerIds.init(q.producerId, q.producerEpoch)
    }
    case ApiKeys.PRODUCE:
      return broker.produce(req as ProduceRequest)
    case ApiKeys.FETCH: {
      // Released a few microtasks before the session sends the reply (no timer or I/O runs in between): the budget can be passed by at most this reply.
      let release: (() => void) | undefined
      const reserve = async (bytes: number) => void (release = await session.reserveOutput(bytes))
      return broker.fetch(req as FetchRequest, (cancel) => session.onClose(cancel), reserve).finally(() => release?.())
    }
    case ApiKeys.LIST_OFFSETS:
      return broker.listOffsets(req as ListOffsetsRequest)
    case ApiKeys.SUBSCRIBE:
      return session.subscriptions.subscribe(req as SubscribeRequest)
    case ApiKeys.UNSUBSCRIBE:
      session.subscriptions.unsubscribe((req as UnsubscribeRequest).subscriptionId)
      return {}
    case ApiKeys.CREDIT: {
      const q = req as CreditRequest
      session.subscriptions.credit(q.subscriptionId, q.bytes)
      return {}
    }
    case ApiKeys.PING:
      return {}
    default:
      throw new SamsaError('UNKNOWN_API_KEY', `api key ${apiKey} is not a request`)
  }
}
