/**
 * @module The Durable Streams HTTP protocol (PUT create, POST append/close, GET read, HEAD, DELETE) under a prefix
 * of the Hono app, over Samsa topics: translation only; produce, fetch and idempotence are the broker's
 * (docs/durable-streams.md).
 *
 * Invariants: every answer carries the browser security headers (nosniff, Cross-Origin-Resource-Policy) and the
 * CORS headers; a request body is never buffered beyond maxRecordBytes (413); when an authorizer is given, each
 * request is authorized (read, write, create or delete on its topic) before it touches the broker or is told
 * anything about the stream (401 for a refused token, 403 for a missing right); an error the broker raises is answered with its name and message, never a
 * stack.
 */
import type { Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { SamsaError } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import { ANONYMOUS, type Principal } from '../../security/principal.js'
import { toSamsaError } from '../../sessions/to-samsa-error.js'
import { streamRef, type StreamAccess } from './stream-access.js'
import { closureGuard } from './closure-guard.js'
import { CatalogLog } from './catalog-log.js'
import { FORWARDED_HEADER, otherLeader, proxied, type LeaderFetch, type PeerCalls } from './stream-cluster.js'
import { StreamCatalog } from './stream-catalog.js'
import { headStream, readStream, WaitingReads, type ReadRequest } from './stream-reads.js'
import { sseStream } from './stream-sse.js'
import { appendToStream, createStream, deleteStream, type Answer, type WriteRequest } from './stream-writes.js'

export type StreamOperation = 'read' | 'write' | 'create' | 'delete'

export interface DurableStreamsOptions {
  /** Where streams live, with a slash at both ends (default /v1/stream/). */
  readonly prefix: string
  /** How long a long poll (or an SSE connection between records) waits for a record. */
  readonly longPollTimeoutMs: number
  /** Long polls and SSE connections waiting at once; more get 503. */
  readonly maxWaitingReads: number
  /** The count of waiting reads to use (the adapter's, for its metrics); absent: a new one with maxWaitingReads. */
  readonly waitingReads?: WaitingReads
  /** Bytes of records one read (or one SSE event) carries at most. */
  readonly maxReadBytes: number
  /**
   * The other nodes of a cluster: a request for a partition another node leads is proxied to it, and the stream
   * catalog is read from and written to its partition's leader. Absent: a single node.
   */
  readonly peers?: PeerCalls
  /** The HTTP client of proxied requests (stream-cluster.ts); absent: the runtime's `fetch`. */
  readonly leaderFetch?: LeaderFetch
  /**
   * With peers: whether this node follows the catalog with a long poll on its leader (default true). False where
   * partition leaders never move (the edge's objects, which must be free to sleep): closes are then applied by the
   * stream's leader that makes them, and every other event by the sync before each stream request.
   */
  readonly followCatalog?: boolean
  /** How long a catalog read or write waits for a reachable leader (the broker's requestTimeoutMs). */
  readonly catalogDeadlineMs?: number
  /** Who a request speaks for; absent: everyone is anonymous. */
  readonly principalOf?: (c: Context) => Promise<Principal>
  /** Rejects (SamsaError, e.g. TOPIC_AUTHORIZATION_FAILED) when `principal` may not do `operation` on `topic`; absent: everything is allowed. */
  readonly authorize?: (principal: Principal, operation: StreamOperation, topic: string) => Promise<void>
}

export const defaultDurableStreamsOptions: DurableStreamsOptions = { prefix: '/v1/stream/', longPollTimeoutMs: 20_000, maxWaitingReads: 10_000, maxReadBytes: 1024 * 1024 }

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'cross-origin-resource-policy': 'cross-origin',
  'access-control-allow-origin': '*',
  'access-control-expose-headers':
    'Stream-Next-Offset, Stream-Cursor, Stream-Up-To-Date, Stream-Closed, Stream-TTL, Stream-Expires-At, Stream-SSE-Data-Encoding, Producer-Epoch, Producer-Seq, Producer-Expected-Seq, Producer-Received-Seq, ETag, Location',
}

const ALLOW_HEADERS = 'Content-Type, Stream-Seq, Stream-TTL, Stream-Expires-At, Stream-Closed, Producer-Id, Producer-Epoch, Producer-Seq, If-None-Match, Last-Event-ID, Authorization'

const STATUS_OF: Record<string, number> = {
  SASL_AUTHENTICATION_FAILED: 401,
  TOPIC_AUTHORIZATION_FAILED: 403,
  CLUSTER_AUTHORIZATION_FAILED: 403,
  UNKNOWN_TOPIC_OR_PARTITION: 404,
  INVALID_TOPIC_EXCEPTION: 400,
  MESSAGE_TOO_LARGE: 413,
  POLICY_VIOLATION: 422,
  NOT_LEADER_OR_FOLLOWER: 503,
  BROKER_SHUTTING_DOWN: 503,
  KAFKA_STORAGE_ERROR: 503,
  REQUEST_TIMED_OUT: 504,
}

/** The right each method needs on the stream's topic (a fork's PUT also needs read on its source). */
const OPERATION_OF: Record<string, StreamOperation> = { GET: 'read', HEAD: 'read', PUT: 'create', DELETE: 'delete', POST: 'write' }

/** The Durable Streams routes' state, for metrics (waiting reads). */
export interface DurableStreamsHandle {
  readonly waitingReads: WaitingReads
}

export function mountDurableStreams(app: Hono, broker: Broker, options: DurableStreamsOptions): DurableStreamsHandle {
  const { prefix } = options
  const refOfPath = (path: string) => (path.startsWith(prefix) ? streamRef(path.slice(prefix.length)) : null)
  const deadlineMs = options.catalogDeadlineMs ?? 10_000
  const peers = options.peers ? { peers: options.peers } : {}
  const catalog: StreamCatalog = new StreamCatalog((e) => log.persist(e), () => broker.clock.nowMs())
  const log = new CatalogLog(broker, (e) => catalog.apply(e), { maxReadBytes: options.maxReadBytes, deadlineMs, ...peers })
  const access: StreamAccess = { broker, catalog, refOfPath, deadlineMs, ...peers }
  // Closure holds for every produce, WebSocket ones included: the broker asks the catalog (docs/durable-streams.md).
  broker.useAppendGuard(closureGuard(catalog, options.peers ? () => log.sync() : null))
  // Known from the start, not only from the first HTTP request (a WebSocket produce may come first).
  log.sync().catch((e: unknown) => broker.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'the stream catalog could not be read at start; read again at the next stream request'))
  if (options.peers && options.followCatalog !== false) void log.follow(options.longPollTimeoutMs)
  const waiting = options.waitingReads ?? new WaitingReads(options.maxWaitingReads)
  const limits = { maxReadBytes: options.maxReadBytes, longPollTimeoutMs: options.longPollTimeoutMs }

  const reply = (a: Answer, bytes?: Uint8Array<ArrayBuffer>) => new Response(bytes ?? a.body ?? null, { status: a.status, headers: { ...a.headers, ...SECURITY_HEADERS } })
  const failed = (e: unknown) => {
    const err = e instanceof SamsaError ? e : toSamsaError(e)
    const status = STATUS_OF[err.errorName] ?? 500
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' }
    if (status === 401) headers['www-authenticate'] = 'Bearer'
    return reply({ status, headers, body: `${err.errorName}: ${err.message}` })
  }
  const allowed = async (c: Context, operation: StreamOperation, topic: string) => {
    if (!options.authorize) return
    const principal = options.principalOf ? await options.principalOf(c) : ANONYMOUS
    await options.authorize(principal, operation, topic)
  }

  app.options(`${prefix}*`, () =>
    reply({ status: 204, headers: { 'access-control-allow-methods': 'GET, HEAD, POST, PUT, DELETE, OPTIONS', 'access-control-allow-headers': ALLOW_HEADERS, 'access-control-max-age': '86400' } }),
  )
  // A body is one record: larger than maxRecordBytes it could never be appended, so it is refused before it is read whole.
  const maxBody = broker.limits.maxRecordBytes
  const limitBody = bodyLimit({
    maxSize: maxBody,
    onError: () => reply({ status: 413, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `MESSAGE_TOO_LARGE: an append carries at most ${maxBody} bytes (maxRecordBytes)` }),
  })
  app.on(['POST', 'PUT'], `${prefix}*`, limitBody)
  app.on(['GET', 'HEAD', 'POST', 'PUT', 'DELETE'], `${prefix}*`, async (c) => {
    const ref = refOfPath(c.req.path)
    if (!ref) return reply({ status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'a stream path is a topic name ([a-zA-Z0-9._-]), optionally followed by /<partition>' })
    const method = c.req.method
    // In a cluster the partition's leader answers (once: a proxied request is served where it lands).
    const leader = options.peers && c.req.header(FORWARDED_HEADER) === undefined ? otherLeader(broker, ref.topic, ref.partition) : null
    if (leader) {
      try {
        const body = method === 'POST' || method === 'PUT' ? new Uint8Array(await c.req.arrayBuffer()) : null
        return await proxied(leader, c.req.raw, body, broker.limits.brokerId, options.leaderFetch)
      } catch (e) {
        return failed(new SamsaError('NOT_LEADER_OR_FOLLOWER', `broker ${leader.brokerId} leads ${ref.topic}/${ref.partition} and could not be reached: ${e instanceof Error ? e.message : String(e)}`))
      }
    }
    try {
      // Every catalog event acknowledged before this request (on any node) is applied before it is served.
      await log.sync()
    } catch (e) {
      return failed(e)
    }
    try {
      // Before anything about the stream is told (even that it was deleted).
      await allowed(c, OPERATION_OF[method] ?? 'write', ref.topic)
    } catch (e) {
      return failed(e)
    }
    if (access.catalog.get(ref.topic)?.softDeleted) {
      // Deleted while forks of it live: its name stays taken until they go.
      const status = method === 'PUT' ? 409 : 410
      return reply({ status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'the stream was deleted; forks of it still live' })
    }
    try {
      if (method === 'GET' || method === 'HEAD') {
        if (method === 'HEAD') return reply(await headStream(access, ref))
        const req: ReadRequest = { query: (n) => c.req.queries(n) ?? [], header: (n) => c.req.header(n), signal: c.req.raw.signal }
        if (req.query('live')[0] === 'sse') {
          const r = await sseStream(access, ref, req, limits, waiting)
          if (!(r instanceof Response)) return reply(r)
          for (const [k, v] of Object.entries(SECURITY_HEADERS)) r.headers.set(k, v)
          return r
        }
        const r = await readStream(access, ref, req, limits, waiting)
        return reply(r, r.bytes)
      }
      const write: WriteRequest = { header: (n) => c.req.header(n), body: new Uint8Array(await c.req.arrayBuffer()), url: c.req.url, maxReadBytes: options.maxReadBytes }
      if (method === 'PUT') {
        const source = write.header('stream-forked-from')
        const sourceRef = source === undefined ? null : refOfPath(source)
        if (sourceRef) await allowed(c, 'read', sourceRef.topic) // a fork copies what it inherits
        return reply(await createStream(access, ref, write))
      }
      if (method === 'DELETE') {
        return reply(await deleteStream(access, ref))
      }
      return reply(await appendToStream(access, ref, write))
    } catch (e) {
      return failed(e)
    }
  })
  return { waitingReads: waiting }
}
