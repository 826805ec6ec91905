/**
 * @module The chat's state and behaviour, apart from rendering: rooms, the open room's messages, delivery states
 * of this browser's own messages, unread counts, the connection badge, presence and the notices the user must see.
 *
 * Invariants:
 * - A message the user sends is handed to the durable producer (IndexedDB `pending` store / outbox) before it is
 *   recorded as outgoing here, so a reload never leaves an outgoing entry the SDK does not hold; it may at worst
 *   lose the "pending" label of a message that is still sent exactly once.
 * - An outgoing entry is shown as pending until its send is acknowledged (then "sent" with the offset) or its record
 *   (same message id) is read back from the room; entries of a previous page life are pending until then, or
 *   until the producer's pending count reaches zero while connected (everything recovered was acknowledged).
 * - Unread count = high watermark − read position (the SDK's offset store, consumer id `chat-read`), floored at
 *   the log start; both survive reloads (the watermark is cached with the room for offline loads).
 * - Errors, gaps and deleted rooms become notices or banners; none is dropped.
 */
import { CloseCodes, SamsaError, createClient, indexedDbStorage, type ClientStorage, type ConsumerRecord, type Gap, type Producer, type SamsaClient } from '@samsa/client-browser'
import { badgeLabel, type BadgeLabel } from './connection-badge.js'
import { LocalStore, type KnownRoom, type Outgoing, type Profile } from './local-store.js'
import { MAX_NAME_CHARS, MAX_TEXT_CHARS, ROOM_NAME, newId, parseMessage, roomOfTopic, roomTopic, type ChatMessage } from './message.js'
import { Presence, type Peer, type PresenceState } from './presence.js'
import { RoomFeed } from './room-feed.js'

/** Sends of a message to a room whose topic the broker did not know yet, creating it between them (waits 50, 100, … ms). */
const UNKNOWN_ROOM_ATTEMPTS = 5

export type Delivery = 'pending' | 'sent' | 'failed'

export interface MessageItem {
  readonly kind: 'message'
  readonly key: string
  readonly id: string | null
  readonly offset: number | null
  readonly author: string
  readonly text: string
  readonly at: number
  readonly mine: boolean
  /** Only for this browser's own messages. */
  readonly delivery: Delivery | null
  readonly error: string | null
}

export interface GapItem {
  readonly kind: 'gap'
  readonly key: string
  readonly from: number
  readonly to: number
  readonly reason: Gap['reason']
}

export type Item = MessageItem | GapItem

export interface RoomInfo {
  readonly name: string
  readonly unread: number
  readonly deleted: boolean
}

export interface Notice {
  readonly id: number
  readonly level: 'error' | 'warning' | 'info'
  readonly text: string
}

export interface ChatState {
  readonly started: boolean
  readonly profile: Profile | null
  readonly rooms: readonly RoomInfo[]
  readonly current: string | null
  readonly items: readonly Item[]
  readonly moreEarlier: boolean
  readonly loadingEarlier: boolean
  /** The open room waits for the broker (its bounds are unknown yet). */
  readonly waiting: boolean
  readonly roomDeleted: boolean
  /** The open room's feed failed for good (shown with a retry button). */
  readonly roomError: string | null
  /** An offset to scroll into view once (the saved position after a reload); null: stay at the bottom. */
  readonly scrollTo: number | null
  readonly badge: { readonly label: BadgeLabel; readonly outbox: number; readonly detail: string }
  readonly peers: readonly Peer[]
  readonly typing: readonly string[]
  readonly notices: readonly Notice[]
  /** The broker refused this page's token (or its lack of one): why, in the broker's words; null while not refused. */
  readonly signIn: { readonly reason: string; readonly hadToken: boolean } | null
}

const REFRESH_MS = 3_000
const READ_WRITE_MS = 400
const READER = 'chat-read'
const MAX_NOTICES = 6

interface OutgoingState extends Outgoing {
  delivery: Delivery
  offset: number | null
  error: string | null
  /** Kept from a previous page life (no send() promise of this page tracks it). */
  prior: boolean
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

type RoomState = Mutable<KnownRoom> & {
  /** Next offset not yet read (SDK offset store), null when never read. */
  readPos: number | null
  /** The broker has confirmed the topic (listed, or created by us). */
  onBroker: boolean
}

const errorName = (e: unknown) => (e as { errorName?: string } | null)?.errorName
/** The broker refused the token (SASL_AUTHENTICATION_FAILED in its hello answer, or a bare 4401 close). */
const isAuthenticationRefusal = (e: Error) =>
  e instanceof SamsaError && (e.errorName === 'SASL_AUTHENTICATION_FAILED' || (e.errorName === 'CONNECTION_REJECTED' && e.details['closeCode'] === CloseCodes.UNAUTHORIZED))
const describe = (e: unknown) => (e instanceof Error ? `${errorName(e) ?? e.name}: ${e.message}` : String(e))

export class ChatModel {
  #state: ChatState
  readonly #listeners = new Set<(s: ChatState) => void>()
  #store!: LocalStore
  #storage!: ClientStorage
  #client!: SamsaClient
  #producer: Producer | null = null
  #presence: Presence | null = null
  #profile: Profile | null = null
  readonly #rooms = new Map<string, RoomState>()
  readonly #outgoing = new Map<string, OutgoingState>()
  #feed: RoomFeed | null = null
  /** The open room's records by offset. */
  readonly #log = new Map<number, MessageItem>()
  readonly #gaps: GapItem[] = []
  #everConnected = false
  #refreshing: Promise<void> | null = null
  #timers: ReturnType<typeof setInterval>[] = []
  readonly #readDirty = new Map<string, { offset: number; leaderEpoch: number }>()
  #noticeSeq = 0
  #presenceState: PresenceState | null = null
  #anchorTimer: ReturnType<typeof setTimeout> | null = null

  constructor() {
    this.#state = {
      started: false,
      profile: null,
      rooms: [],
      current: null,
      items: [],
      moreEarlier: false,
      loadingEarlier: false,
      waiting: false,
      roomDeleted: false,
      roomError: null,
      scrollTo: null,
      badge: { label: 'offline', outbox: 0, detail: 'starting' },
      peers: [],
      typing: [],
      notices: [],
      signIn: null,
    }
  }

  get state(): ChatState {
    return this.#state
  }
  get client(): SamsaClient {
    return this.#client
  }
  get profile(): Profile | null {
    return this.#profile
  }

  subscribe(listener: (s: ChatState) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #set(patch: Partial<ChatState>): void {
    this.#state = { ...this.#state, ...patch }
    for (const l of this.#listeners) l(this.#state)
  }

  notice(level: Notice['level'], text: string): void {
    // Once the broker refused the token, every failure after it is that refusal again: the sign-in panel says it once.
    if (this.#state.signIn) return
    const notices = [...this.#state.notices, { id: ++this.#noticeSeq, level, text }].slice(-MAX_NOTICES)
    this.#set({ notices })
  }

  dismiss(id: number): void {
    this.#set({ notices: this.#state.notices.filter((n) => n.id !== id) })
  }

  /** Everything here works without the broker: the store, the room list, the outgoing messages. */
  async start(brokerUrl: string, token: string | null = null): Promise<void> {
    this.#store = await LocalStore.open()
    this.#profile = await this.#store.profile()
    for (const r of await this.#store.rooms()) this.#rooms.set(r.name, { ...r, readPos: null, onBroker: false })
    if (this.#rooms.size === 0) this.#rooms.set('general', { name: 'general', logStart: null, highWatermark: null, deleted: false, readPos: null, onBroker: false })
    for (const o of await this.#store.outgoing()) this.#outgoing.set(o.id, { ...o, delivery: 'pending', offset: null, error: null, prior: true })

    this.#storage = indexedDbStorage()
    for (const room of this.#rooms.values()) room.readPos = (await this.#storage.offsets.get(READER, roomTopic(room.name), 0))?.offset ?? null
    this.#client = createClient({ brokers: [brokerUrl], clientId: 'samsa-demo', storage: this.#storage, ...(token ? { token } : {}) })
    this.#client.onStatus(({ current }) => {
      if (current.status === 'connected') {
        this.#everConnected = true
        void this.refresh()
      }
      this.#updateBadge()
    })
    void this.#client.closed.then((e) => {
      if (!e) return
      if (isAuthenticationRefusal(e)) this.#set({ signIn: { reason: e.message, hadToken: token !== null }, notices: [] })
      else this.notice('error', `The connection closed for good: ${describe(e)}. Reload the page.`)
    })

    this.#presence = new Presence(
      this.#client,
      () => this.#profile,
      (p) => {
        this.#presenceState = p
        this.#set({ peers: p.peers, typing: this.#typingIn(this.#state.current) })
      },
      (e) => e && this.notice('warning', `Presence unavailable (${describe(e)}); retrying.`),
    )
    this.#presence.start()
    this.#timers.push(
      setInterval(() => this.#client.state.status === 'connected' && void this.refresh(), REFRESH_MS),
      setInterval(() => void this.#writeReads(), READ_WRITE_MS),
    )
    addEventListener('pagehide', () => {
      this.#presence?.bye()
      void this.#writeReads()
    })

    const saved = await this.#store.setting<string>('room')
    this.#set({ started: true, profile: this.#profile })
    this.#publishRooms()
    this.#updateBadge()
    await this.openRoom(saved && this.#rooms.has(saved) ? saved : (this.#rooms.keys().next().value ?? 'general'))
    // Connect now rather than at the first request; a refused first attempt only shows in the badge.
    this.#client.connect().catch(() => this.#updateBadge())
  }

  #typingIn(room: string | null): readonly string[] {
    return room ? (this.#presenceState?.typing[room] ?? []) : []
  }

  async setName(name: string): Promise<void> {
    const clean = name.trim().slice(0, MAX_NAME_CHARS)
    if (!clean) return
    this.#profile = { name: clean, sender: this.#profile?.sender ?? newId() }
    await this.#store.setProfile(this.#profile)
    this.#set({ profile: this.#profile })
    this.#presence?.setRoom(this.#state.current)
    this.#rebuild()
  }

  // ---- rooms ----

  /** Creates (or just opens) a room; its topic is created on the broker now or as soon as it is reachable. */
  async addRoom(raw: string): Promise<string | null> {
    const name = raw.trim().toLowerCase()
    if (!ROOM_NAME.test(name)) {
      this.notice('warning', `"${raw}" is not a room name: 1–40 characters of a–z, 0–9 and '-', starting with a letter or digit.`)
      return null
    }
    if (!this.#rooms.has(name)) {
      const room: RoomState = { name, logStart: null, highWatermark: null, deleted: false, readPos: null, onBroker: false }
      this.#rooms.set(name, room)
      await this.#store.putRoom(this.#known(room))
      this.#publishRooms()
      if (this.#client.state.status === 'connected') await this.#ensureTopic(room)
    }
    await this.openRoom(name)
    return name
  }

  async removeRoom(name: string): Promise<void> {
    this.#rooms.delete(name)
    await this.#store.removeRoom(name)
    if (this.#state.current === name) await this.openRoom(this.#rooms.keys().next().value ?? 'general')
    this.#publishRooms()
  }

  /** A deleted room, created again (empty). */
  async recreateRoom(name: string): Promise<void> {
    const room = this.#rooms.get(name)
    if (!room) return
    Object.assign(room, { deleted: false, onBroker: false, readPos: null, logStart: null, highWatermark: null })
    await this.#storage.offsets.delete(READER, roomTopic(name))
    await this.#store.putRoom(this.#known(room))
    await this.#ensureTopic(room)
    await this.openRoom(name)
  }

  async #ensureTopic(room: RoomState): Promise<boolean> {
    try {
      await this.#client.admin.createTopic(roomTopic(room.name), { partitions: 1 })
    } catch (e) {
      if (errorName(e) !== 'TOPIC_ALREADY_EXISTS') {
        this.notice('error', `Could not create room ${room.name}: ${describe(e)}`)
        return false
      }
    }
    room.onBroker = true
    return true
  }

  /** Syncs the room list and every room's bounds with the broker; one run at a time. */
  refresh(): Promise<void> {
    return (this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = null)))
  }

  async #refresh(): Promise<void> {
    let topics: string[]
    try {
      topics = await this.#client.admin.listTopics()
    } catch {
      return // the badge shows the connection; the next refresh retries
    }
    const onBroker = new Set(topics.flatMap((t) => roomOfTopic(t) ?? []))
    for (const name of onBroker) {
      if (!this.#rooms.has(name)) {
        const room: RoomState = { name, logStart: null, highWatermark: null, deleted: false, readPos: (await this.#storage.offsets.get(READER, roomTopic(name), 0))?.offset ?? null, onBroker: true }
        this.#rooms.set(name, room)
      }
    }
    for (const room of this.#rooms.values()) {
      if (onBroker.has(room.name)) {
        room.onBroker = true
        if (room.deleted) room.deleted = false
      } else if (room.onBroker || (room.highWatermark !== null && !room.deleted)) {
        // It was on the broker and is gone: deleted by someone. Shown, not dropped.
        if (!room.deleted) this.#roomDeleted(room.name)
      } else if (!room.deleted) {
        // Created in this browser while the broker was away.
        await this.#ensureTopic(room)
      }
    }
    for (const room of this.#rooms.values()) {
      if (!room.onBroker || room.deleted) continue
      try {
        const d = await this.#client.admin.describeTopic(roomTopic(room.name))
        const p = d.partitions.find((x) => x.partition === 0)
        if (p) {
          room.logStart = p.logStartOffset
          room.highWatermark = Math.max(p.highWatermark, room.name === this.#state.current ? (room.highWatermark ?? 0) : 0)
        }
      } catch (e) {
        if (errorName(e) === 'UNKNOWN_TOPIC_OR_PARTITION') this.#roomDeleted(room.name)
      }
      await this.#store.putRoom(this.#known(room))
    }
    this.#publishRooms()
    this.#ensureProducer()
    // The open room was waiting for its topic.
    const current = this.#state.current ? this.#rooms.get(this.#state.current) : undefined
    if (current && current.onBroker && !current.deleted && !this.#feed) this.#startFeed(current.name)
  }

  #roomDeleted(name: string): void {
    const room = this.#rooms.get(name)
    if (!room || room.deleted) return
    room.deleted = true
    room.onBroker = false
    void this.#store.putRoom(this.#known(room))
    this.notice('error', `Room ${name} was deleted on the broker.`)
    if (this.#state.current === name) {
      this.#feed?.close()
      this.#feed = null
      this.#set({ roomDeleted: true, waiting: false })
    }
    this.#publishRooms()
  }

  #known(r: RoomState): KnownRoom {
    return { name: r.name, logStart: r.logStart, highWatermark: r.highWatermark, deleted: r.deleted }
  }

  #unread(r: RoomState): number {
    if (r.highWatermark === null) return 0
    const start = r.logStart ?? 0
    return Math.max(0, r.highWatermark - Math.max(start, r.readPos ?? start))
  }

  #publishRooms(): void {
    const rooms = [...this.#rooms.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => ({ name: r.name, unread: this.#unread(r), deleted: r.deleted }))
    this.#set({ rooms })
  }

  // ---- the open room ----

  async openRoom(name: string): Promise<void> {
    if (this.#state.current === name && (this.#feed || this.#state.waiting)) return
    this.#feed?.close()
    this.#feed = null
    this.#log.clear()
    this.#gaps.length = 0
    // Outgoing entries already read back belong to the log; keep only those still to show.
    for (const [id, o] of this.#outgoing) if (o.delivery === 'sent' && !o.prior) this.#outgoing.delete(id)
    const room = this.#rooms.get(name)
    this.#set({ current: name, items: [], moreEarlier: false, loadingEarlier: false, waiting: true, roomDeleted: room?.deleted ?? false, roomError: null, scrollTo: null, typing: this.#typingIn(name) })
    await this.#store.setSetting('room', name)
    this.#presence?.setRoom(name)
    this.#rebuild()
    this.#publishRooms()
    if (room && room.onBroker && !room.deleted) this.#startFeed(name)
    else if (room?.deleted) this.#set({ waiting: false })
  }

  #startFeed(name: string): void {
    const anchorKey = `anchor:${name}`
    const feed = new RoomFeed(this.#client, name, {
      bounds: (logStart, hw) => {
        const room = this.#rooms.get(name)
        if (room) Object.assign(room, { logStart, highWatermark: Math.max(hw, room.highWatermark ?? 0) })
        this.#publishRooms()
      },
      live: (r) => this.#onRecord(name, r),
      earlier: (records, more) => {
        for (const r of records) this.#onRecord(name, r, false)
        this.#set({ moreEarlier: more, loadingEarlier: false })
        this.#rebuild()
      },
      gap: (g) => {
        this.#gaps.push({ kind: 'gap', key: `gap:${g.from}-${g.to}`, from: g.from, to: g.to, reason: g.reason })
        this.notice('warning', `${g.to - g.from} message(s) of ${name} are no longer available (${g.reason}).`)
        this.#rebuild()
      },
      deleted: () => this.#roomDeleted(name),
      error: (e, retrying) => {
        if (retrying) this.#set({ waiting: true })
        else {
          this.#set({ roomError: describe(e) })
          this.notice('error', `Room ${name} stopped updating: ${describe(e)}`)
        }
      },
      waiting: (on) => this.#set({ waiting: on }),
    })
    this.#feed = feed
    void this.#store.setting<number>(anchorKey).then((anchor) => {
      if (this.#feed !== feed) return
      if (anchor !== null) this.#set({ scrollTo: anchor })
      feed.start(anchor)
    })
  }

  retryRoom(): void {
    const name = this.#state.current
    if (!name) return
    this.#feed?.close()
    this.#feed = null
    this.#set({ roomError: null })
    void this.openRoom(name)
  }

  #onRecord(room: string, r: ConsumerRecord, render = true): void {
    if (this.#state.current !== room) return
    const m = parseMessage(r.text())
    const mine = m !== null && m.sender === this.#profile?.sender
    const item: MessageItem = m
      ? { kind: 'message', key: `o:${r.offset}`, id: m.id, offset: r.offset, author: m.author, text: m.text, at: m.at, mine, delivery: mine ? 'sent' : null, error: null }
      : { kind: 'message', key: `o:${r.offset}`, id: null, offset: r.offset, author: '?', text: `(a record this app cannot read: ${r.value?.byteLength ?? 0} bytes)`, at: r.timestamp, mine: false, delivery: null, error: null }
    this.#log.set(r.offset, item)
    if (m && this.#outgoing.has(m.id)) {
      this.#outgoing.delete(m.id)
      void this.#store.removeOutgoing(m.id)
    }
    const st = this.#rooms.get(room)
    if (st) {
      st.highWatermark = Math.max(st.highWatermark ?? 0, r.offset + 1)
      if ((st.readPos ?? -1) < r.offset + 1) {
        st.readPos = r.offset + 1
        this.#readDirty.set(room, { offset: r.offset + 1, leaderEpoch: r.leaderEpoch })
      }
    }
    if (render) {
      this.#rebuild()
      this.#publishRooms()
    }
  }

  async #writeReads(): Promise<void> {
    const dirty = [...this.#readDirty]
    this.#readDirty.clear()
    for (const [room, pos] of dirty) await this.#storage.offsets.put(READER, roomTopic(room), 0, pos).catch((e: unknown) => this.notice('error', `Could not store the read position of ${room}: ${describe(e)}`))
  }

  /** The offset at the top of the view when the user has scrolled up, or null at the bottom; saved per room. */
  saveAnchor(offset: number | null): void {
    const room = this.#state.current
    if (!room) return
    if (this.#anchorTimer) clearTimeout(this.#anchorTimer)
    this.#anchorTimer = setTimeout(() => void this.#store.setSetting(`anchor:${room}`, offset), 300)
  }

  scrolled(): void {
    if (this.#state.scrollTo !== null) this.#set({ scrollTo: null })
  }

  loadEarlier(): void {
    if (!this.#feed || this.#state.loadingEarlier || !this.#state.moreEarlier) return
    this.#set({ loadingEarlier: true })
    void this.#feed.loadEarlier()
  }

  #rebuild(): void {
    const room = this.#state.current
    const seen = new Set<string>()
    const logItems: Item[] = []
    for (const item of this.#log.values()) {
      if (item.id) seen.add(item.id)
      logItems.push({ ...item, mine: item.id !== null && item.mine })
    }
    logItems.push(...this.#gaps)
    const pos = (i: Item) => (i.kind === 'gap' ? i.from - 0.5 : (i.offset ?? Infinity))
    logItems.sort((a, b) => pos(a) - pos(b))
    const pending: Item[] = [...this.#outgoing.values()]
      .filter((o) => o.room === room && !seen.has(o.id))
      .map((o) => ({ kind: 'message', key: `id:${o.id}`, id: o.id, offset: o.offset, author: o.author, text: o.text, at: o.at, mine: true, delivery: o.delivery, error: o.error }))
    this.#set({ items: [...logItems, ...pending] })
  }

  // ---- sending ----

  #ensureProducer(): Producer {
    if (this.#producer) return this.#producer
    const producer = this.#client.producer({ id: 'chat', acks: 'all' })
    this.#producer = producer
    producer.onPending(() => {
      this.#updateBadge()
      this.#settlePrior()
    })
    void producer.ready.then(
      () => this.#settlePrior(),
      (e: unknown) => this.notice('error', `The message sender could not start: ${describe(e)}`),
    )
    this.#updateBadge()
    return producer
  }

  /** Entries of a previous page life are all acknowledged once the producer holds nothing while connected. */
  #settlePrior(): void {
    const p = this.#producer
    if (!p || p.identitySlot === null || this.#client.state.status !== 'connected' || p.pending().records > 0) return
    let changed = false
    for (const o of this.#outgoing.values()) {
      if (o.prior && o.delivery === 'pending') {
        o.delivery = 'sent'
        changed = true
        void this.#store.removeOutgoing(o.id)
      }
    }
    if (changed) this.#rebuild()
  }

  typing(): void {
    if (this.#state.current) this.#presence?.typing(this.#state.current)
  }

  async send(raw: string): Promise<boolean> {
    const text = raw.trim()
    const room = this.#state.current
    if (!text || !room || !this.#profile) return false
    if (text.length > MAX_TEXT_CHARS) {
      this.notice('warning', `A message holds at most ${MAX_TEXT_CHARS} characters (this one has ${text.length}).`)
      return false
    }
    if (this.#rooms.get(room)?.deleted) {
      this.notice('warning', `Room ${room} was deleted; create it again to write in it.`)
      return false
    }
    const o: OutgoingState = { id: newId(), room, text, author: this.#profile.name, at: Date.now(), delivery: 'pending', offset: null, error: null, prior: false }
    this.#outgoing.set(o.id, o)
    this.#rebuild()
    this.#deliver(o, 0)
    return true
  }

  #deliver(o: OutgoingState, attempt: number): void {
    const msg: ChatMessage = { v: 1, id: o.id, sender: this.#profile!.sender, author: o.author, text: o.text, at: o.at }
    // Handed to the durable producer first (it stores the record before anything else can happen), then noted here.
    const sent = this.#ensureProducer().send(roomTopic(o.room), [{ value: JSON.stringify(msg), partition: 0 }])
    const noted = this.#store.addOutgoing({ id: o.id, room: o.room, text: o.text, author: o.author, at: o.at })
    this.#updateBadge()
    void noted
      .then(() => sent)
      .then(
        async ([meta]) => {
          const cur = this.#outgoing.get(o.id)
          if (cur) Object.assign(cur, { delivery: 'sent', offset: meta?.offset ?? null })
          await this.#store.removeOutgoing(o.id)
          this.#rebuild()
        },
        async (e: unknown) => {
          if (errorName(e) === 'UNKNOWN_TOPIC_OR_PARTITION' && attempt < UNKNOWN_ROOM_ATTEMPTS) {
            // The room's topic did not exist yet (created while the broker was away, or being created by this page's
            // room sync at this moment): create it and send again after a short wait that grows, so a lookup that
            // began before the creation has ended. The failed send appended nothing, so this sends the message once.
            const room = this.#rooms.get(o.room)
            if (room && (await this.#ensureTopic(room))) {
              await new Promise((r) => setTimeout(r, 50 * 2 ** attempt))
              return this.#deliver(o, attempt + 1)
            }
          }
          const cur = this.#outgoing.get(o.id)
          if (cur) Object.assign(cur, { delivery: 'failed', error: describe(e) })
          await this.#store.removeOutgoing(o.id)
          this.notice('error', `A message to ${o.room} was not sent: ${describe(e)}`)
          this.#rebuild()
        },
      )
  }

  /** Sends a failed message again (a new send of the same message id). */
  retry(id: string): void {
    const o = this.#outgoing.get(id)
    if (!o || o.delivery !== 'failed') return
    Object.assign(o, { delivery: 'pending', error: null })
    this.#rebuild()
    this.#deliver(o, 0)
  }

  #updateBadge(): void {
    if (!this.#client) return
    const s = this.#client.state
    const outbox = this.#producer ? this.#producer.pending().records : [...this.#outgoing.values()].filter((o) => o.delivery === 'pending').length
    this.#set({ badge: { label: badgeLabel(s, this.#everConnected), outbox, detail: `${s.status} (${s.reason.message || s.reason.code})` } })
  }
}
