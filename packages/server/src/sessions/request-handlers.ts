/**
 * @module Request handlers: one entry per exchange, from a decoded request to a response (or a thrown SamsaError).
 * The map is typed from `exchanges`: each handler is checked against its exchange's request and response types, and
 * an exchange without a handler does not compile.
 *
 * Authorization (security/authorization, through broker.access): every exchange on a topic checks the connection's
 * principal before anything else: produce needs write (and a producer id of its own), fetch, subscribe, listOffsets
 * and a consumer's offsetForLeaderEpoch read, createTopic create, deleteTopic delete; metadata answers only the
 * topics the principal may describe. No client writes, creates or deletes `__consumer_offsets` (groups/internal-topic.ts). A cluster peer's connection may do everything.
 */
import { CONSUMER_REPLICA_ID, SamsaError, exchanges, type RequestOf, type ResponseOf } from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import type { SubscriptionTable } from './subscription-table.js'
import { PEER_CONNECTION, type Principal } from '../security/principal.js'
import { authorizedMetadata } from '../security/authorization/metadata-filter.js'
import { createTopicAs, deleteTopicAs } from '../security/authorization/topic-changes.js'
import { groupHandlers } from './group-handlers.js'
import { refuseInternalTopic } from '../groups/internal-topic.js'

interface SessionView {
  readonly subscriptions: SubscriptionTable
  /** The node id this connection's hello named as a cluster peer; 0 for an ordinary client. */
  readonly peerNodeId: number
  /** Who the connection speaks for (see security/principal.ts). */
  readonly principal: Principal
  /** The address the connection came from. */
  readonly remoteAddress: string
  /** Waits for room in the connection's output budget; resolves with the release function. */
  reserveOutput(bytes: number): Promise<() => void>
  /** Runs `fn` when the connection closes (at once if it already has); returns the unregister function. */
  onClose(fn: () => void): () => void
}

/**
 * Broker-to-broker exchanges: only a connection whose hello named it a cluster peer may send them; one that speaks
 * for a replica (`replicaId`) must be that very peer.
 */
function assertPeer(session: SessionView, what: string, replicaId?: number): void {
  if (session.peerNodeId === 0) throw new SamsaError('CLUSTER_AUTHORIZATION_FAILED', `${what} is broker-to-broker: this connection did not identify as a cluster peer in hello`)
  if (replicaId !== undefined && session.peerNodeId !== replicaId) {
    throw new SamsaError('CLUSTER_AUTHORIZATION_FAILED', `${what} is broker-to-broker: this connection is cluster peer ${session.peerNodeId}, not ${replicaId}`)
  }
}

type Exchanges = typeof exchanges
/** Every exchange a client sends after hello (hello and reauthenticate are the session's: they set the version and the principal). */
export type HandledExchange = Exclude<keyof Exchanges, 'hello' | 'reauthenticate'>

export type RequestHandlers = {
  readonly [K in HandledExchange]: (req: RequestOf<Exchanges[K]>) => ResponseOf<Exchanges[K]> | Promise<ResponseOf<Exchanges[K]>>
}

/** The handlers of one connection. */
export function requestHandlers(broker: Broker, session: SessionView): RequestHandlers {
  const access = broker.access
  /** Who the connection speaks for: a cluster peer's (named in its hello) may do everything broker-to-broker. */
  const principal = (): Principal => (session.peerNodeId !== 0 ? PEER_CONNECTION : session.principal)
  const authorizeOn = (op: 'read' | 'write', topic: string) => access.authorize(principal(), op, topic, 'ws')
  return {
    metadata: (q) => authorizedMetadata(broker, principal(), q.topics, (names, kept) => {
      const wait = q.wait && kept ? { ...q.wait, leaderEpochs: q.wait.leaderEpochs.filter((_, i) => kept[i]) } : q.wait
      return wait !== undefined && q.topics !== null && names !== null ? broker.metadataWhenChanged(names, wait, (cancel) => session.onClose(cancel)) : broker.metadata(names)
    }),
    createTopic: (q) => {
      const opts = { fromPeer: session.peerNodeId !== 0, ...(q.replicationFactor !== undefined ? { replicationFactor: q.replicationFactor } : {}), ...(q.minInsyncReplicas !== undefined ? { minInsyncReplicas: q.minInsyncReplicas } : {}), ...(q.configs !== undefined ? { configs: q.configs } : {}) }
      return createTopicAs(broker, principal(), 'ws', q.name, q.partitions, opts)
    },
    deleteTopic: (q) => deleteTopicAs(broker, principal(), 'ws', q.name, { fromPeer: session.peerNodeId !== 0 }).then(() => ({})),
    initProducerId: (q) => broker.initProducerId(q.producerId, q.producerEpoch, principal()),
    // Async, so a refused acks=0 produce is handled as any failed acks=0 produce: no reply, counted, logged rate-limited.
    produce: async (q) => {
      authorizeOn('write', q.topic)
      if (session.peerNodeId === 0) refuseInternalTopic(q.topic, 'written')
      access.requireBatchProducerId(principal(), q.batch, q.topic, 'ws')
      return broker.produce(q)
    },
    fetch: (q) => {
      if (q.replicaId !== undefined) assertPeer(session, 'a replica fetch', q.replicaId)
      else authorizeOn('read', q.topic)
      // Released a few microtasks before the session sends the reply (no timer or I/O runs in between): the budget can be passed by at most this reply.
      let held: (() => void) | undefined
      const output = {
        reserve: async (bytes: number) => void (held = await session.reserveOutput(bytes)),
        release: () => {
          held?.()
          held = undefined
        },
      }
      return broker.fetch(q, (cancel) => session.onClose(cancel), output).finally(output.release)
    },
    listOffsets: (q) => {
      authorizeOn('read', q.topic)
      return broker.listOffsets(q)
    },
    subscribe: (q) => {
      authorizeOn('read', q.topic)
      return session.subscriptions.subscribe(q)
    },
    unsubscribe: (q) => {
      session.subscriptions.unsubscribe(q.subscriptionId)
      return {}
    },
    credit: (q) => {
      session.subscriptions.credit(q.subscriptionId, q.bytes)
      return {}
    },
    ping: () => ({}),
    offsetForLeaderEpoch: (q) => {
      // A consumer (replicaId −1) validating its position may ask on any connection (KIP-320): read-only, like
      // listOffsets. Asking for a replica is broker-to-broker.
      if (q.replicaId !== CONSUMER_REPLICA_ID) assertPeer(session, 'offsetForLeaderEpoch for a replica', q.replicaId)
      else authorizeOn('read', q.topic)
      return broker.offsetForLeaderEpoch(q)
    },
    brokerRegistration: (q) => {
      assertPeer(session, 'brokerRegistration')
      return broker.brokerRegistration(q)
    },
    brokerHeartbeat: (q) => {
      assertPeer(session, 'brokerHeartbeat')
      return broker.brokerHeartbeat(q)
    },
    allocateProducerIds: (q) => {
      assertPeer(session, 'allocateProducerIds')
      return broker.allocateProducerIds(q)
    },
    alterPartition: (q) => {
      assertPeer(session, 'alterPartition', q.brokerId)
      return broker.alterPartition(q)
    },
    fetchMetadata: (q) => {
      assertPeer(session, 'fetchMetadata')
      return broker.fetchMetadata(q)
    },
    ...groupHandlers(broker, { principal, remoteAddress: () => session.remoteAddress }),
  }
}

/** The key in `exchanges` of each api key a client may send after hello. */
const handledByApiKey: ReadonlyMap<number, HandledExchange> = new Map(
  (Object.keys(exchanges) as (keyof Exchanges)[]).filter((k): k is HandledExchange => k !== 'hello' && k !== 'reauthenticate').map((k) => [exchanges[k].apiKey, k]),
)

/**
 * Runs the handler of `apiKey` on a request decoded by that same exchange. Returns the response or a promise of it;
 * throws SamsaError for a bad request or an api key that is not a request.
 */
export function handleRequest(handlers: RequestHandlers, apiKey: number, req: unknown): unknown {
  const key = handledByApiKey.get(apiKey)
  if (key === undefined) throw new SamsaError('UNKNOWN_API_KEY', `api key ${apiKey} is not a request`)
  // The one unchecked step: `req` came from exchanges[key].decodeRequest, so it has that exchange's request type.
  return (handlers[key] as (req: unknown) => unknown)(req)
}
