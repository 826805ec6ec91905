/**
 * @module The Durable Streams layer's links between a namespace's objects (transport/durable-streams/stream-cluster.ts):
 * a stream request proxied to the object of the stream's topic (LeaderFetch), and a produce, fetch or metadata
 * request run on another object (PeerCalls) — the request encoded as on the wire, sent as an internal request, and
 * answered by `answerPeerCall` with the broker's answer encoded the same way.
 * Invariants: only produce, fetch and metadata are run for a peer; an error crosses as its code and message (the same
 * SamsaError on the caller's side); the target object is the one the leader's advertised URL routes to.
 */
import { ByteReader, ByteWriter, SamsaError, exchanges, type Exchange } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import type { LeaderFetch, PeerCalls } from '../../transport/durable-streams/stream-cluster.js'
import { internalAnswer, internalResult } from './catalog-sources.js'
import { INTERNAL_HEADER, routeToObject } from './object-names.js'
import type { DurableObjectNamespaceBinding } from './workers-types.js'

const API_KEY_HEADER = 'samsa-api-key'
export const PEER_CALL_PATH = '/internal/exchange'

/** The links for this namespace's objects, through the Worker's binding. */
export function edgePeers(binding: DurableObjectNamespaceBinding): { peers: PeerCalls; leaderFetch: LeaderFetch } {
  return {
    peers: {
      async call<Q, S>(_brokerId: number, url: string, exchange: Exchange<Q, S>, req: Q): Promise<S> {
        const w = new ByteWriter()
        exchange.encodeRequest(w, req)
        const res = await routeToObject(
          new Request(`${url.replace(/^ws/, 'http')}${PEER_CALL_PATH}`, { method: 'POST', headers: { [INTERNAL_HEADER]: '1', [API_KEY_HEADER]: String(exchange.apiKey) }, body: new Uint8Array(w.finish()) }),
          binding,
          true,
        )
        if (!res.ok) await internalResult(res)
        return exchange.decodeResponse(new ByteReader(new Uint8Array(await res.arrayBuffer())))
      },
    },
    leaderFetch: (url, init) => routeToObject(new Request(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal }), binding),
  }
}

/** Runs a peer's produce, fetch or metadata request on this object's broker. */
export async function answerPeerCall(broker: Broker, req: Request): Promise<Response> {
  const body = new Uint8Array(await req.arrayBuffer())
  const apiKey = Number(req.headers.get(API_KEY_HEADER))
  const run = async <Q, S>(exchange: Exchange<Q, S>, serve: (q: Q) => Promise<S> | S): Promise<Response> => {
    const res = await serve(exchange.decodeRequest(new ByteReader(body)))
    const w = new ByteWriter()
    exchange.encodeResponse(w, res)
    return new Response(new Uint8Array(w.finish()))
  }
  try {
    if (apiKey === exchanges.produce.apiKey) return await run(exchanges.produce, (q) => broker.produce(q))
    if (apiKey === exchanges.fetch.apiKey) return await run(exchanges.fetch, (q) => broker.fetch(q))
    if (apiKey === exchanges.metadata.apiKey) return await run(exchanges.metadata, (q) => broker.metadata(q.topics))
  } catch (e) {
    return internalAnswer(() => Promise.reject(e))
  }
  return internalAnswer(() => Promise.reject(new SamsaError('INVALID_REQUEST', `a peer call runs produce, fetch or metadata, not api key ${apiKey}`)))
}
