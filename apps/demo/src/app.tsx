/** @module The chat's UI (Preact): header with the connection badge, room list, message view, composer, who is online, notes. */
import type { ComponentChildren } from 'preact'
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { ChatModel, ChatState, Item, MessageItem } from './chat-model.js'
import { MAX_NAME_CHARS, MAX_TEXT_CHARS } from './message.js'
import { NotesPanel } from './notes-panel.js'
import { SignIn } from './sign-in.js'

function useModel(model: ChatModel): ChatState {
  const [state, setState] = useState(model.state)
  useEffect(() => {
    setState(model.state)
    return model.subscribe(setState)
  }, [model])
  return state
}

const time = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

export function App({ model }: { model: ChatModel }) {
  const s = useModel(model)
  const [editingName, setEditingName] = useState(false)
  if (!s.started) return <p class="loading">Loading…</p>
  const askName = s.profile === null || editingName
  return (
    <div class="app">
      <a class="skip" href="#composer">
        Skip to the message box
      </a>
      <header class="top">
        <h1>Samsa chat</h1>
        <Badge s={s} />
        {s.profile && (
          <button type="button" class="link" onClick={() => setEditingName(true)} aria-label={`Display name: ${s.profile.name}. Change it`}>
            {s.profile.name}
          </button>
        )}
      </header>
      {askName && <NameForm initial={s.profile?.name ?? ''} onDone={(name) => void model.setName(name).then(() => setEditingName(false))} onCancel={s.profile ? () => setEditingName(false) : null} />}
      {s.signIn && <SignIn reason={s.signIn.reason} hadToken={s.signIn.hadToken} />}
      <Notices s={s} model={model} />
      <RoomList s={s} model={model} />
      <Room s={s} model={model} />
      <aside class="side" aria-label="People and notes">
        <Online s={s} />
        {s.current && !s.roomDeleted && <NotesPanel key={s.current} model={model} room={s.current} />}
      </aside>
    </div>
  )
}

function Badge({ s }: { s: ChatState }) {
  const { label, outbox, detail } = s.badge
  return (
    <p class={`badge badge-${label}`} role="status" aria-live="polite" data-state={label} title={detail} data-testid="connection">
      <span class="dot" aria-hidden="true" />
      <span class="badge-label">{label}</span>
      {outbox > 0 && <span class="outbox" data-outbox={outbox}>{` · ${outbox} to send`}</span>}
    </p>
  )
}

function NameForm({ initial, onDone, onCancel }: { initial: string; onDone: (name: string) => void; onCancel: (() => void) | null }) {
  const [name, setName] = useState(initial)
  const ref = useRef<HTMLInputElement>(null)
  useEffect(() => ref.current?.focus(), [])
  return (
    <form
      class="name-form"
      aria-labelledby="name-title"
      onSubmit={(e) => {
        e.preventDefault()
        if (name.trim()) onDone(name)
      }}
    >
      <h2 id="name-title">Choose a display name</h2>
      <p class="hint">Kept in this browser (IndexedDB); others see it next to your messages.</p>
      <label for="display-name">Display name</label>
      <div class="row">
        <input id="display-name" ref={ref} value={name} maxLength={MAX_NAME_CHARS} required autoComplete="nickname" onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit">Save</button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  )
}

function Notices({ s, model }: { s: ChatState; model: ChatModel }) {
  return (
    <section class="notices" aria-label="Notices" role="alert">
      {s.notices.map((n) => (
        <p key={n.id} class={`notice notice-${n.level}`} data-level={n.level}>
          <span>{n.text}</span>
          <button type="button" class="link" onClick={() => model.dismiss(n.id)} aria-label="Dismiss this notice">
            ×
          </button>
        </p>
      ))}
    </section>
  )
}

function RoomList({ s, model }: { s: ChatState; model: ChatModel }) {
  const [name, setName] = useState('')
  return (
    <nav class="rooms" aria-label="Rooms">
      <h2 class="sr-only">Rooms</h2>
      <ul>
        {s.rooms.map((r) => (
          <li key={r.name}>
            <button
              type="button"
              class={`room${r.name === s.current ? ' current' : ''}${r.deleted ? ' deleted' : ''}`}
              aria-current={r.name === s.current ? 'page' : undefined}
              data-room={r.name}
              onClick={() => void model.openRoom(r.name)}
            >
              <span class="room-name"># {r.name}</span>
              {r.deleted && <span class="tag">deleted</span>}
              {r.unread > 0 && (
                <span class="unread" data-unread={r.unread} aria-label={`${r.unread} unread`}>
                  {r.unread}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
      <form
        class="new-room"
        onSubmit={(e) => {
          e.preventDefault()
          void model.addRoom(name).then((ok) => ok && setName(''))
        }}
      >
        <label for="new-room">New room</label>
        <div class="row">
          <input id="new-room" value={name} placeholder="e.g. random" maxLength={40} pattern="[a-zA-Z0-9][a-zA-Z0-9-]*" onInput={(e) => setName(e.currentTarget.value)} />
          <button type="submit">Add</button>
        </div>
      </form>
    </nav>
  )
}

function Room({ s, model }: { s: ChatState; model: ChatModel }) {
  const list = useRef<HTMLOListElement>(null)
  const atBottom = useRef(true)
  const prevHeight = useRef<{ height: number; top: number; first: string | null } | null>(null)
  const room = s.current

  // Keep the view pinned to the bottom while it is there; keep the reading position when a page is prepended.
  useLayoutEffect(() => {
    const el = list.current
    if (!el) return
    const first = s.items[0]?.key ?? null
    const prev = prevHeight.current
    if (s.scrollTo !== null) {
      const target = el.querySelector<HTMLElement>(`[data-offset="${s.scrollTo}"]`)
      if (target) {
        el.scrollTop = target.offsetTop - el.offsetTop
        atBottom.current = false
        model.scrolled()
      }
    } else if (prev && prev.first !== first && !atBottom.current) {
      el.scrollTop = prev.top + (el.scrollHeight - prev.height)
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight
    }
    prevHeight.current = { height: el.scrollHeight, top: el.scrollTop, first }
  }, [s.items, s.scrollTo])

  useEffect(() => {
    atBottom.current = true
  }, [room])

  const onScroll = () => {
    const el = list.current
    if (!el) return
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24
    prevHeight.current = { height: el.scrollHeight, top: el.scrollTop, first: s.items[0]?.key ?? null }
    if (el.scrollTop < 40 && s.moreEarlier) model.loadEarlier()
    if (atBottom.current) model.saveAnchor(null)
    else {
      const top = el.scrollTop + el.offsetTop
      const firstVisible = [...el.querySelectorAll<HTMLElement>('li[data-offset]')].find((li) => li.offsetTop + li.offsetHeight > top)
      if (firstVisible) model.saveAnchor(Number(firstVisible.dataset['offset']))
    }
  }

  return (
    <main class="room-view" aria-labelledby="room-title">
      <h2 id="room-title">{room ? `# ${room}` : 'No room'}</h2>
      {s.waiting && !s.roomDeleted && (
        <p class="banner banner-info" data-testid="waiting">
          Waiting for the broker to load this room… You can still write: messages are kept in this browser and sent when it is back.
        </p>
      )}
      {s.roomDeleted && room && (
        <div class="banner banner-error" role="alert" data-testid="room-deleted">
          <p>Room {room} was deleted on the broker. Its messages are gone.</p>
          <div class="row">
            <button type="button" onClick={() => void model.recreateRoom(room)}>
              Create it again
            </button>
            <button type="button" onClick={() => void model.removeRoom(room)}>
              Remove from the list
            </button>
          </div>
        </div>
      )}
      {s.roomError && (
        <div class="banner banner-error" role="alert" data-testid="room-error">
          <p>This room stopped updating: {s.roomError}</p>
          <button type="button" onClick={() => model.retryRoom()}>
            Retry
          </button>
        </div>
      )}
      {s.moreEarlier && (
        <button type="button" class="earlier" onClick={() => model.loadEarlier()} disabled={s.loadingEarlier}>
          {s.loadingEarlier ? 'Loading earlier messages…' : 'Load earlier messages'}
        </button>
      )}
      <ol class="messages" ref={list} onScroll={onScroll} role="log" aria-live="polite" aria-relevant="additions" aria-label={room ? `Messages in ${room}` : 'Messages'} tabIndex={0}>
        {s.items.map((item) => (
          <ItemView key={item.key} item={item} model={model} />
        ))}
        {s.items.length === 0 && !s.waiting && !s.roomDeleted && <li class="empty">No messages yet. Say hello!</li>}
      </ol>
      <p class="typing" aria-live="polite" data-testid="typing">
        {s.typing.length > 0 ? `${s.typing.join(', ')} ${s.typing.length === 1 ? 'is' : 'are'} typing…` : ' '}
      </p>
      <Composer s={s} model={model} />
    </main>
  )
}

function ItemView({ item, model }: { item: Item; model: ChatModel }) {
  if (item.kind === 'gap') {
    return (
      <li class="gap" data-gap={`${item.from}-${item.to}`}>
        {item.to - item.from} message(s) no longer available ({item.reason === 'retention' ? 'expired by retention' : 'lost by the broker'})
      </li>
    )
  }
  return <MessageView m={item} model={model} />
}

function MessageView({ m, model }: { m: MessageItem; model: ChatModel }) {
  return (
    <li class={`msg${m.mine ? ' mine' : ''}`} data-offset={m.offset ?? undefined} data-id={m.id ?? undefined} data-delivery={m.delivery ?? undefined}>
      <p class="meta">
        <span class="author">{m.author}</span> <time dateTime={new Date(m.at).toISOString()}>{time(m.at)}</time>
        {m.delivery && <Delivery m={m} model={model} />}
      </p>
      <p class="text">{m.text}</p>
    </li>
  )
}

function Delivery({ m, model }: { m: MessageItem; model: ChatModel }): ComponentChildren {
  if (m.delivery === 'pending') return <span class="delivery pending">pending</span>
  if (m.delivery === 'sent') return <span class="delivery sent">{m.offset !== null ? `sent · #${m.offset}` : 'sent'}</span>
  return (
    <span class="delivery failed">
      not sent: {m.error}{' '}
      <button type="button" class="link" onClick={() => m.id && model.retry(m.id)}>
        Retry
      </button>
    </span>
  )
}

function Composer({ s, model }: { s: ChatState; model: ChatModel }) {
  const [text, setText] = useState('')
  const disabled = !s.profile || !s.current || s.roomDeleted
  const submit = () => {
    void model.send(text).then((ok) => ok && setText(''))
  }
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault()
        submit()
      }}
    >
      <label for="composer" class="sr-only">
        {s.current ? `Message # ${s.current}` : 'Message'}
      </label>
      <textarea
        id="composer"
        rows={1}
        value={text}
        maxLength={MAX_TEXT_CHARS}
        disabled={disabled}
        placeholder={s.profile ? `Message # ${s.current ?? ''}` : 'Choose a display name first'}
        aria-describedby="composer-hint"
        onInput={(e) => {
          setText(e.currentTarget.value)
          model.typing()
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault()
            submit()
          }
        }}
      />
      <button type="submit" disabled={disabled || !text.trim()}>
        Send
      </button>
      <span id="composer-hint" class="sr-only">
        Enter sends, Shift+Enter adds a line. Messages written offline are kept in this browser and sent once the broker is back.
      </span>
    </form>
  )
}

function Online({ s }: { s: ChatState }) {
  return (
    <section class="online" aria-labelledby="online-title">
      <h2 id="online-title">Online ({s.peers.length})</h2>
      <ul data-testid="online">
        {s.peers.map((p) => (
          <li key={p.sender} data-name={p.name} data-self={p.self ? 'true' : undefined}>
            <span class="dot on" aria-hidden="true" /> {p.name}
            {p.self && <span class="you"> (you)</span>}
            {p.room && <span class="where"> in #{p.room}</span>}
          </li>
        ))}
      </ul>
    </section>
  )
}
