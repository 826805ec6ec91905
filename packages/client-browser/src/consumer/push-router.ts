/**
 * @module Routes server pushes to subscriptions by subscription id. A push can arrive before the subscribe response
 * is processed (several frames parsed in one tick), so pushes for ids not yet registered wait here, per session.
 */
import type { Push } from '@samsa/shared'
import type { Connection } from '../connection/connection.js'
import type { Logger } from '../ports.js'

const MAX_ORPHAN_PUSHES = 256

export class PushRouter {
  readonly #log: Logger
  /** Handlers of the current session only; cleared when the session changes (ids are per connection). */
  readonly #handlers = new Map<number, (push: Push) => void>()
  /** Pushes for ids with no handler yet, in arrival order; at most MAX_ORPHAN_PUSHES in total. */
  readonly #orphans = new Map<number, Push[]>()
  #orphanCount = 0
  /** Ids of this session that will never get a handler again. */
  readonly #retired = new Set<number>()
  #session: number

  constructor(conn: Connection, logger: Logger) {
    this.#log = logger
    this.#session = conn.session
    conn.on('push', (push) => {
      if (conn.session !== this.#session) this.#reset(conn.session)
      this.#route(push)
    })
    conn.on('status', () => {
      if (conn.session !== this.#session) this.#reset(conn.session)
    })
  }

  /** Registers the handler for a subscription id of the given session and replays pushes that came first. */
  register(session: number, id: number, handler: (push: Push) => void): void {
    if (session !== this.#session) return
    this.#handlers.set(id, handler)
    const waiting = this.#orphans.get(id)
    if (waiting === undefined) return
    this.#orphans.delete(id)
    this.#orphanCount -= waiting.length
    for (const push of waiting) handler(push)
  }

  /** The id is finished (unsubscribed or abandoned): later pushes for it are dropped, not kept as orphans. */
  unregister(id: number): void {
    this.#handlers.delete(id)
    this.#retired.add(id)
    const waiting = this.#orphans.get(id)
    if (waiting === undefined) return
    this.#orphans.delete(id)
    this.#orphanCount -= waiting.length
  }

  #route(push: Push): void {
    const handler = this.#handlers.get(push.subscriptionId)
    if (handler !== undefined) return handler(push)
    if (this.#retired.has(push.subscriptionId)) return
    if (this.#orphanCount >= MAX_ORPHAN_PUSHES) return this.#log.warn({ subscriptionId: push.subscriptionId }, 'dropping a push for an unknown subscription')
    const list = this.#orphans.get(push.subscriptionId) ?? []
    list.push(push)
    this.#orphans.set(push.subscriptionId, list)
    this.#orphanCount++
  }

  #reset(session: number): void {
    this.#session = session
    this.#handlers.clear()
    this.#orphans.clear()
    this.#retired.clear()
    this.#orphanCount = 0
  }
}
