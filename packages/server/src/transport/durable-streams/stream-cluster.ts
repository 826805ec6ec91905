/**
 * @module Durable Streams in a cluster: which node leads a partition (from this broker's metadata image), the
 * answer of that node to an HTTP request (proxied), and a produce or fetch run on that node over a cluster-peer link
 * (the stream catalog's, whose partition may be led anywhere).
 *
 * Invariants: a request is proxied at most once (the proxied copy carries FORWARDED_HEADER and is served where it
 * lands, so two nodes with different views of a leader never bounce it); a single node (no `peers`) always runs
 * locally; a produce or fetch goes to the leader the image names, retried until `deadlineMs` while no leader is
 * known or the image lags (each retry after a pause), and otherwise fails as the broker answered.
 */
import { ErrorMessages, exchanges, SamsaError, type Exchange, type FetchRequest, type FetchResponse, type ProduceRequest, type ProduceResponse } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'

/** Set on a request one node proxies to another: the receiver serves it itself. */
export const FORWARDED_HEADER = 'samsa-forwarded-by'

/** Runs one exchange on another node over a cluster-peer link (the Node adapter's PeerRequests). */
export interface PeerCalls {
  call<Q, S>(brokerId: number, url: string, exchange: Exchange<Q, S>, req: Q): Promise<S>
}

export interface NodeRef {
  readonly brokerId: number
  /** Its advertised ws:// or wss:// base URL. */
  readonly url: string
}

/** The other node leading the partition; null when this broker leads it, no leader is known, or there is no such topic. */
export function otherLeader(broker: Broker, topic: string, partition: number): NodeRef | null {
  const meta = broker.metadata([topic])
  const p = meta.topics[0]?.partitions.find((x) => x.partition === partition)
  if (!p || p.leader < 0 || p.leader === broker.limits.brokerId) return null
  const node = meta.brokers.find((b) => b.brokerId === p.leader)
  return node ? { brokerId: node.brokerId, url: node.url } : null
}

/** The http(s):// base URL of a node advertised as ws(s)://. */
export function httpBase(url: string): string {
  return url.replace(/^ws/, 'http').replace(/\/+$/, '')
}

/**
 * The HTTP client a proxied request goes through (the runtime's `fetch` by default). A TLS cluster whose nodes
 * trust a private CA (`--tls-ca`) gives one that trusts it, as its peer links do (adapters/node/leader-fetch.ts).
 */
export type LeaderFetch = (url: string, init: { readonly method: string; readonly headers: Headers; readonly body: Uint8Array<ArrayBuffer> | null; readonly signal: AbortSignal }) => Promise<Response>

const HOP_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade'])

/** The leader's answer to `req` (its body already read into `body`), streamed back as it comes (SSE, long polls). */
export async function proxied(leader: NodeRef, req: Request, body: Uint8Array<ArrayBuffer> | null, self: number, send: LeaderFetch = (url, init) => fetch(url, { ...init, redirect: 'manual' })): Promise<Response> {
  const u = new URL(req.url)
  const headers = new Headers()
  req.headers.forEach((v, k) => {
    if (!HOP_HEADERS.has(k)) headers.set(k, v)
  })
  headers.set(FORWARDED_HEADER, String(self))
  const upstream = await send(`${httpBase(leader.url)}${u.pathname}${u.search}`, { method: req.method, headers, body, signal: req.signal })
  const out = new Headers(upstream.headers)
  for (const h of ['content-encoding', 'content-length', 'transfer-encoding', 'connection']) out.delete(h)
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: out })
}

const PAUSE_MS = 50

async function onLeader<T>(broker: Broker, peers: PeerCalls | undefined, topic: string, partition: number, deadlineMs: number, local: () => Promise<T>, remote: (to: NodeRef) => Promise<T>): Promise<T> {
  const until = broker.clock.monotonicMs() + deadlineMs
  for (;;) {
    const to = peers ? otherLeader(broker, topic, partition) : null
    try {
      return await (to ? remote(to) : local())
    } catch (e) {
      const moved = e instanceof SamsaError && (e.errorName === 'NOT_LEADER_OR_FOLLOWER' || e.errorName === 'LEADER_NOT_AVAILABLE' || e.errorName === 'UNKNOWN_TOPIC_OR_PARTITION')
      if (!peers || !moved || broker.clock.monotonicMs() >= until) throw e
    }
    await new Promise<void>((r) => void broker.clock.setTimeout(r, PAUSE_MS))
  }
}

/** Broker.produce on the partition's leader, wherever it is. */
export function produceOnLeader(broker: Broker, peers: PeerCalls | undefined, req: ProduceRequest, deadlineMs: number): Promise<ProduceResponse> {
  return onLeader(broker, peers, req.topic, req.partition, deadlineMs, () => broker.produce(req), (to) => peers!.call(to.brokerId, to.url, exchanges.produce, req))
}

/**
 * The log end offset of the partition on its leader, wherever it is: every record acknowledged before the call is
 * below it (an acknowledged record is on every in-sync replica, and a leader is chosen among them).
 */
export function logEndOnLeader(broker: Broker, peers: PeerCalls | undefined, topic: string, partition: number, deadlineMs: number): Promise<number> {
  const pick = (m: { topics: readonly { partitions: readonly { partition: number; logEndOffset: number }[] }[] }) => {
    const p = m.topics[0]?.partitions.find((x) => x.partition === partition)
    if (!p) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(topic))
    return p.logEndOffset
  }
  return onLeader(broker, peers, topic, partition, deadlineMs, async () => {
    broker.partition(topic, partition) // NOT_LEADER_OR_FOLLOWER unless this broker leads it
    return pick(broker.metadata([topic]))
  }, async (to) => pick(await peers!.call(to.brokerId, to.url, exchanges.metadata, { topics: [topic] })))
}

/** Broker.fetch on the partition's leader, wherever it is. */
export function fetchOnLeader(broker: Broker, peers: PeerCalls | undefined, req: FetchRequest, deadlineMs: number): Promise<FetchResponse> {
  return onLeader(broker, peers, req.topic, req.partition, deadlineMs, () => broker.fetch(req), (to) => peers!.call(to.brokerId, to.url, exchanges.fetch, req))
}
