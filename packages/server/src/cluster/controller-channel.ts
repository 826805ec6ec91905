/**
 * @module The broker's way to the active controller, and the active controller's answers.
 *
 * `ControllerRequests` serves what brokers ask the active controller (registration, heartbeat, producer-id blocks,
 * topic create/delete) on this node's MetadataNode: NOT_CONTROLLER (with the leader when known) unless it is active;
 * and what broker-only nodes ask any voter (`fetchMetadata`, the committed metadata log). A broker-only node serves
 * none of it (`notAController`).
 * `ControllerChannel` sends a request to the active controller: locally when this node is it, otherwise to the Raft
 * leader over a cluster-peer connection (PeerRequester, an adapter). While no controller is known, or one answers
 * NOT_CONTROLLER or cannot be reached, it retries until its deadline (only where the caller allows: a request a
 * peer forwarded to us is never forwarded again, so two nodes with stale views cannot bounce it between them).
 */
import { parseTopicConfigs, SamsaError, type RequestOf, type ResponseOf, type exchanges } from '@samsa/shared'
import type { Clock } from '../clock.js'
import { unfencedBrokerIds } from '../controller/metadata/index.js'
import type { MetadataNode } from '../controller/metadata-node.js'
import type { MetadataView } from '../controller/metadata-view.js'
import { withTimeout } from '../broker/with-timeout.js'

type Exchanges = typeof exchanges
/** The exchanges a broker sends the active controller. */
export type ControllerExchange = 'brokerRegistration' | 'brokerHeartbeat' | 'allocateProducerIds' | 'alterPartition' | 'createTopic' | 'deleteTopic' | 'fetchMetadata'
export type ControllerRequest<K extends ControllerExchange> = RequestOf<Exchanges[K]>
export type ControllerResponse<K extends ControllerExchange> = ResponseOf<Exchanges[K]>

/** One request to another node over a cluster-peer connection; rejects with the SamsaError it answered, or NETWORK_EXCEPTION / REQUEST_TIMED_OUT. */
export interface PeerRequester {
  request<K extends ControllerExchange>(nodeId: number, name: K, req: ControllerRequest<K>): Promise<ControllerResponse<K>>
  close(): void
}

/** Replication factor of a topic created without one: every live broker, up to 3. */
export const MAX_DEFAULT_REPLICATION_FACTOR = 3

export type ControllerHandlers = { readonly [K in ControllerExchange]: (req: ControllerRequest<K>) => Promise<ControllerResponse<K>> }

/** What a controller voter decides and serves: MetadataNode. */
export type ControllerDecisions = Pick<MetadataNode, 'image' | 'registerBroker' | 'heartbeat' | 'allocateProducerIds' | 'alterPartition' | 'createTopic' | 'deleteTopic' | 'fetchMetadata'>

/** The active controller's side of every ControllerExchange, over this node's MetadataNode. */
export function controllerRequests(metadata: ControllerDecisions, clusterId: string): ControllerHandlers {
  return {
    fetchMetadata: (q) => metadata.fetchMetadata(q),
    brokerRegistration: async (q) => {
      if (q.clusterId !== clusterId) throw new SamsaError('INCONSISTENT_CLUSTER_ID', `broker ${q.brokerId} belongs to cluster "${q.clusterId.slice(0, 100)}", this controller to "${clusterId}"`)
      return metadata.registerBroker({ brokerId: q.brokerId, previousBrokerEpoch: q.previousBrokerEpoch, advertisedUrl: q.advertisedUrl, rack: q.rack, incompleteReplicas: q.incompleteReplicas })
    },
    brokerHeartbeat: async (q) => {
      const r = await metadata.heartbeat({ brokerId: q.brokerId, brokerEpoch: q.brokerEpoch, caughtUpToMetadataOffset: q.metadataOffset, wantShutDown: q.wantShutDown, incompleteReplicas: q.incompleteReplicas })
      return { isFenced: r.fenced, shouldShutDown: r.shouldShutDown }
    },
    allocateProducerIds: (q) => metadata.allocateProducerIds(q.brokerId, q.brokerEpoch),
    alterPartition: async (q) => {
      const p = await metadata.alterPartition({ ...q, newIsr: [...q.newIsr] })
      return { leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, replicas: p.replicas, isr: p.isr }
    },
    createTopic: async (q) => {
      const live = unfencedBrokerIds(metadata.image).length
      const replicationFactor = q.replicationFactor ?? Math.max(1, Math.min(MAX_DEFAULT_REPLICATION_FACTOR, live))
      const minIsr = q.minInsyncReplicas
      const cleanup = q.configs === undefined ? {} : { cleanup: parseTopicConfigs(q.configs) }
      const r = await metadata.createTopic({ name: q.name, partitions: q.partitions, replicationFactor, ...(minIsr !== undefined && minIsr !== -1 ? { config: { minInsyncReplicas: minIsr } } : {}), ...cleanup })
      return { name: r.name, partitions: r.partitions }
    },
    deleteTopic: async (q) => {
      await metadata.deleteTopic(q.name)
      return {}
    },
  }
}

/** A broker-only node's answer to every ControllerExchange: NOT_CONTROLLER, naming the controller leader it knows. */
export function notAController(nodeId: number, metadata: Pick<MetadataView, 'state'>): ControllerHandlers {
  const refuse = (): Promise<never> => {
    const leaderId = metadata.state().leaderId
    const why = `node ${nodeId} is a broker-only node, no controller voter${leaderId === 0 ? '' : `; node ${leaderId} is the active controller`}`
    return Promise.reject(new SamsaError('NOT_CONTROLLER', why, leaderId === 0 ? {} : { leaderId }))
  }
  return { brokerRegistration: refuse, brokerHeartbeat: refuse, allocateProducerIds: refuse, alterPartition: refuse, createTopic: refuse, deleteTopic: refuse, fetchMetadata: refuse }
}

export interface ControllerChannelOptions {
  readonly nodeId: number
  /** Who the active controller is (this node, or the Raft leader it knows). */
  readonly metadata: Pick<MetadataView, 'state'>
  readonly handlers: ControllerHandlers
  readonly peers: PeerRequester
  readonly clock: Clock
  /** Pause between attempts while no controller answers (default 100 ms). */
  readonly retryMs?: number
  /**
   * How long one attempt at another node may wait for its answer before it counts as REQUEST_TIMED_OUT (retriable,
   * so the next attempt goes to whichever controller is known then). A paused or blackholed controller keeps its
   * connection open and answers nothing: without this bound an attempt waits for the peer link's own timeout, and a
   * broker's heartbeat stuck there never reaches the new controller, which fences it. Default: the peer link's bound.
   */
  readonly attemptTimeoutMs?: number
}

const RETRIABLE = new Set(['NOT_CONTROLLER', 'NETWORK_EXCEPTION', 'REQUEST_TIMED_OUT'])

export class ControllerChannel {
  readonly #opts: ControllerChannelOptions

  constructor(opts: ControllerChannelOptions) {
    this.#opts = opts
  }

  /**
   * Sends `req` to the active controller. With `retryForMs` > 0 it retries NOT_CONTROLLER and unreachable
   * controllers until then; with 0 it makes one attempt (NOT_CONTROLLER when no controller is known). Each attempt
   * at another node waits at most `attemptTimeoutMs` (default: the channel's).
   */
  async call<K extends ControllerExchange>(name: K, req: ControllerRequest<K>, retryForMs: number, attemptTimeoutMs = this.#opts.attemptTimeoutMs): Promise<ControllerResponse<K>> {
    const { clock } = this.#opts
    const deadline = clock.monotonicMs() + retryForMs
    for (;;) {
      try {
        return await this.#once(name, req, attemptTimeoutMs)
      } catch (e) {
        const retriable = e instanceof SamsaError && RETRIABLE.has(e.errorName)
        if (!retriable || clock.monotonicMs() + (this.#opts.retryMs ?? 100) > deadline) throw e
      }
      await new Promise<void>((resolve) => clock.setTimeout(resolve, this.#opts.retryMs ?? 100))
    }
  }

  #once<K extends ControllerExchange>(name: K, req: ControllerRequest<K>, attemptTimeoutMs: number | undefined): Promise<ControllerResponse<K>> {
    const { metadata, nodeId, handlers, peers, clock } = this.#opts
    const s = metadata.state()
    if (s.active) return (handlers[name] as (q: ControllerRequest<K>) => Promise<ControllerResponse<K>>)(req)
    if (s.leaderId === 0 || s.leaderId === nodeId) {
      return Promise.reject(new SamsaError('NOT_CONTROLLER', s.leaderId === nodeId ? `node ${nodeId} leads but is not active yet` : 'no active controller is known yet'))
    }
    const answer = peers.request(s.leaderId, name, req)
    return attemptTimeoutMs === undefined ? answer : withDeadline(clock, answer, attemptTimeoutMs, `${name} to controller ${s.leaderId}`)
  }
}

/** `p`, or REQUEST_TIMED_OUT once `ms` have passed on `clock` without it settling (it may still be acted on). */
export function withDeadline<T>(clock: Clock, p: Promise<T>, ms: number, what: string): Promise<T> {
  return withTimeout(clock, p, ms, () => new SamsaError('REQUEST_TIMED_OUT', `no answer to ${what} within ${ms} ms`))
}
