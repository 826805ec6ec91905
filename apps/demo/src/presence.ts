/**
 * @module Who is online and who is typing, over the ephemeral topic `chat-presence`.
 *
 * Ephemeral by use, not by broker setting: the admin API creates topics with a partition count only (retention is
 * broker-wide, `--retention-hours` / `--retention-bytes`), so this topic is read from 'latest' only — nothing
 * before the page opened is ever replayed — and every signal expires in the page: a peer not heard from for
 * PEER_TIMEOUT_MS is offline, a typing signal lasts TYPING_MS. Signals go through a fire-and-forget producer
 * (acks 'none': no identity, no outbox) and only while connected, so nothing of it survives offline periods or
 * reloads, which is what presence wants.
 */
import type { Producer, SamsaClient, Subscription } from '@samsa/client-browser'
import { PRESENCE_TOPIC, parsePresence, type PresenceSignal } from './message.js'
import type { Profile } from './local-store.js'

export const HEARTBEAT_MS = 2_500
export const PEER_TIMEOUT_MS = 8_000
export const TYPING_MS = 4_000
const TYPING_THROTTLE_MS = 1_500
const RESUBSCRIBE_MS = 2_000

export interface Peer {
  readonly sender: string
  readonly name: string
  readonly room: string | null
  readonly self: boolean
}

export interface PresenceState {
  readonly peers: readonly Peer[]
  /** room → names typing there now (never this browser's own user). */
  readonly typing: Readonly<Record<string, readonly string[]>>
}

interface Seen {
  name: string
  room: string | null
  seenAt: number
  typingRoom: string | null
  typingAt: number
}

export class Presence {
  readonly #client: SamsaClient
  readonly #profile: () => Profile | null
  readonly #onChange: (s: PresenceState) => void
  readonly #onError: (e: Error | null) => void
  readonly #peers = new Map<string, Seen>()
  #producer: Producer | null = null
  #sub: Subscription | null = null
  #room: string | null = null
  #timers: ReturnType<typeof setInterval>[] = []
  #resubscribe: ReturnType<typeof setTimeout> | null = null
  #lastTyping = 0
  #closed = false
  #offStatus: (() => void) | null = null
  #last = ''

  constructor(client: SamsaClient, profile: () => Profile | null, onChange: (s: PresenceState) => void, onError: (e: Error | null) => void) {
    this.#client = client
    this.#profile = profile
    this.#onChange = onChange
    this.#onError = onError
  }

  start(): void {
    this.#producer = this.#client.producer({ acks: 'none' })
    this.#timers.push(setInterval(() => this.#signal('here'), HEARTBEAT_MS), setInterval(() => this.#emit(), 1_000))
    // Say hello as soon as a connection is up (first load, reconnect, broker restart).
    this.#offStatus = this.#client.onStatus(({ current }) => current.status === 'connected' && this.#signal('here'))
    void this.#subscribe()
    this.#emit()
  }

  setRoom(room: string | null): void {
    this.#room = room
    this.#signal('here')
  }

  /** Called on input in a room's message box; throttled. */
  typing(room: string): void {
    const now = Date.now()
    if (now - this.#lastTyping < TYPING_THROTTLE_MS) return
    this.#lastTyping = now
    this.#signal('typing', room)
  }

  /** The page is going away: tell the others now rather than let them time us out. */
  bye(): void {
    this.#signal('bye')
  }

  async #subscribe(): Promise<void> {
    if (this.#closed) return
    try {
      await this.#client.admin.createTopic(PRESENCE_TOPIC, { partitions: 1 }).catch((e: { errorName?: string }) => {
        if (e?.errorName !== 'TOPIC_ALREADY_EXISTS') throw e
      })
    } catch (e) {
      return this.#failed(e as Error)
    }
    if (this.#closed) return
    const sub = this.#client.consumer({ id: 'chat-presence' }).subscribe(PRESENCE_TOPIC, { from: 'latest', reset: 'latest' })
    this.#sub = sub
    sub.onRecord((r) => {
      const s = parsePresence(r.text())
      if (s) this.#apply(s)
    })
    sub.onError((e) => this.#failed(e))
    void sub.ready.then(
      () => this.#onError(null),
      () => {},
    )
  }

  #failed(e: Error): void {
    if (this.#closed) return
    this.#onError(e)
    this.#sub?.close()
    this.#sub = null
    this.#resubscribe = setTimeout(() => void this.#subscribe(), RESUBSCRIBE_MS)
  }

  #apply(s: PresenceSignal): void {
    const me = this.#profile()
    if (s.kind === 'bye') {
      if (s.sender !== me?.sender) this.#peers.delete(s.sender)
      return this.#emit()
    }
    const now = Date.now()
    const seen = this.#peers.get(s.sender) ?? { name: s.name, room: null, seenAt: now, typingRoom: null, typingAt: 0 }
    seen.name = s.name
    seen.seenAt = now
    if (s.kind === 'typing') {
      seen.typingRoom = s.room
      seen.typingAt = now
    } else seen.room = s.room
    this.#peers.set(s.sender, seen)
    this.#emit()
  }

  #signal(kind: PresenceSignal['kind'], room: string | null = this.#room): void {
    const me = this.#profile()
    if (!me || !this.#producer || this.#closed || this.#client.state.status !== 'connected') return
    const signal: PresenceSignal = { v: 1, kind, sender: me.sender, name: me.name, room, at: Date.now() }
    this.#producer.send(PRESENCE_TOPIC, [{ value: JSON.stringify(signal), partition: 0 }]).catch(() => {
      // Fire and forget: the next heartbeat says it again.
    })
  }

  #emit(): void {
    const now = Date.now()
    const me = this.#profile()
    for (const [sender, seen] of this.#peers) if (now - seen.seenAt > PEER_TIMEOUT_MS) this.#peers.delete(sender)
    const peers: Peer[] = []
    const typing: Record<string, string[]> = {}
    if (me) peers.push({ sender: me.sender, name: me.name, room: this.#room, self: true })
    for (const [sender, seen] of this.#peers) {
      if (sender === me?.sender) continue
      peers.push({ sender, name: seen.name, room: seen.room, self: false })
      if (seen.typingRoom && now - seen.typingAt < TYPING_MS) (typing[seen.typingRoom] ??= []).push(seen.name)
    }
    peers.sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name))
    const state = { peers, typing }
    const key = JSON.stringify(state)
    if (key === this.#last) return
    this.#last = key
    this.#onChange(state)
  }

  close(): void {
    this.#closed = true
    for (const t of this.#timers) clearInterval(t)
    if (this.#resubscribe) clearTimeout(this.#resubscribe)
    this.#offStatus?.()
    this.#sub?.close()
  }
}
