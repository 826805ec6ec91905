/**
 * @module Read-index requests waiting at the leader for a heartbeat round to prove it is still the leader
 * (Raft thesis §6.4). Contexts are chosen by the requester and must be unique among concurrent requests.
 */
import type { NodeId } from './messages.js'

export interface ReadIndexRequest {
  readonly from: NodeId
  readonly context: Uint8Array
}

export interface ReadIndexStatus {
  readonly request: ReadIndexRequest
  /** The leader's commit index when the request arrived: the read is linearizable once this is applied. */
  readonly index: number
  readonly acks: Map<NodeId, boolean>
}

export function contextKey(context: Uint8Array): string {
  let s = ''
  for (const b of context) s += b.toString(16).padStart(2, '0')
  return s
}

/** Invariant: `#queue` lists the keys of `#pending` in arrival order; requests complete in that order. */
export class ReadOnly {
  readonly #pending = new Map<string, ReadIndexStatus>()
  #queue: string[] = []

  addRequest(index: number, request: ReadIndexRequest): void {
    const key = contextKey(request.context)
    if (this.#pending.has(key)) return
    this.#pending.set(key, { request, index, acks: new Map() })
    this.#queue.push(key)
  }

  /** Records a heartbeat acknowledgement; returns the request's acks so far (undefined for an unknown context). */
  recvAck(from: NodeId, context: Uint8Array): ReadonlyMap<NodeId, boolean> | undefined {
    const status = this.#pending.get(contextKey(context))
    if (!status) return undefined
    status.acks.set(from, true)
    return status.acks
  }

  /** Completes the request with `context` and every request queued before it (a later heartbeat round covers earlier ones). */
  advance(context: Uint8Array): ReadIndexStatus[] {
    const key = contextKey(context)
    const at = this.#queue.indexOf(key)
    if (at < 0) return []
    const done = this.#queue.slice(0, at + 1)
    this.#queue = this.#queue.slice(at + 1)
    return done.map((k) => {
      const status = this.#pending.get(k)!
      this.#pending.delete(k)
      return status
    })
  }

  lastPendingContext(): Uint8Array | undefined {
    const key = this.#queue[this.#queue.length - 1]
    return key === undefined ? undefined : this.#pending.get(key)!.request.context
  }

  reset(): void {
    this.#pending.clear()
    this.#queue = []
  }
}
