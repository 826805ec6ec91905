/** @module The chat's record formats: a message on a room topic `chat.<room>`, and presence/typing on `chat-presence`. */

/** Rooms are topics `chat.<room>`; a room name is what the admin API accepts after that prefix, kept short and readable. */
export const ROOM_PREFIX = 'chat.'
export const ROOM_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/
export const PRESENCE_TOPIC = 'chat-presence'
export const MAX_TEXT_CHARS = 2_000
export const MAX_NAME_CHARS = 40

export const roomTopic = (room: string) => `${ROOM_PREFIX}${room}`
export const roomOfTopic = (topic: string): string | null => (topic.startsWith(ROOM_PREFIX) && ROOM_NAME.test(topic.slice(ROOM_PREFIX.length)) ? topic.slice(ROOM_PREFIX.length) : null)

/** A chat message as stored in a record's value (JSON). `id` is chosen by the sender: it matches the record to the sender's outbox entry. */
export interface ChatMessage {
  readonly v: 1
  readonly id: string
  /** The sending browser's stable id (from its IndexedDB profile). */
  readonly sender: string
  readonly author: string
  readonly text: string
  /** ms since the epoch, when the user pressed send (the record timestamp may be later for a message sent offline). */
  readonly at: number
}

/** Parses a record value; null for anything that is not a chat message (shown as an unreadable record, never dropped). */
export function parseMessage(text: string): ChatMessage | null {
  try {
    const m = JSON.parse(text) as Partial<ChatMessage>
    if (m && m.v === 1 && typeof m.id === 'string' && typeof m.sender === 'string' && typeof m.author === 'string' && typeof m.text === 'string' && typeof m.at === 'number') return m as ChatMessage
  } catch {
    // not JSON
  }
  return null
}

/** Presence and typing, on the ephemeral topic. `here` is a heartbeat; `bye` is sent when the page goes away. */
export interface PresenceSignal {
  readonly v: 1
  readonly kind: 'here' | 'typing' | 'bye'
  readonly sender: string
  readonly name: string
  /** The room the user has open (for 'typing': the room being typed in). */
  readonly room: string | null
  readonly at: number
}

export function parsePresence(text: string): PresenceSignal | null {
  try {
    const s = JSON.parse(text) as Partial<PresenceSignal>
    if (s && s.v === 1 && (s.kind === 'here' || s.kind === 'typing' || s.kind === 'bye') && typeof s.sender === 'string' && typeof s.name === 'string' && typeof s.at === 'number') return s as PresenceSignal
  } catch {
    // not JSON
  }
  return null
}

export const newId = () => crypto.randomUUID()
