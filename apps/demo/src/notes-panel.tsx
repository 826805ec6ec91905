/**
 * @module Shared room notes: a Y.Text edited together through the Samsa Yjs provider (topic `notes.<room>`).
 * Edits go through the provider's durable producer, so notes typed offline are kept and merged when the broker is
 * back. Undo only undoes this user's own edits: the UndoManager tracks LOCAL_ORIGIN only, and the provider applies
 * remote updates with itself as origin.
 */
import { SamsaYjsProvider } from '@samsa/client-browser/yjs'
import { useEffect, useRef, useState } from 'preact/hooks'
import * as Y from 'yjs'
import type { ChatModel } from './chat-model.js'

/** The origin of every edit typed here; the only origin the UndoManager tracks. */
const LOCAL_ORIGIN = Symbol('local notes edit')
export const notesTopic = (room: string) => `notes.${room}`

interface NotesStatus {
  readonly synced: boolean
  readonly unsynced: number
  readonly error: string | null
  readonly canUndo: boolean
  readonly canRedo: boolean
}

/** Replaces `before` by `after` in `text` as one delete + insert around their common prefix and suffix. */
function applyDiff(text: Y.Text, before: string, after: string): void {
  let start = 0
  while (start < before.length && start < after.length && before[start] === after[start]) start++
  let endBefore = before.length
  let endAfter = after.length
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore--
    endAfter--
  }
  if (endBefore > start) text.delete(start, endBefore - start)
  if (endAfter > start) text.insert(start, after.slice(start, endAfter))
}

/** Where a caret at `index` moves when `delta` (a Y.Text event delta) is applied before it. */
function mapIndex(index: number, delta: readonly { retain?: number; insert?: unknown; delete?: number }[]): number {
  let pos = 0
  let out = index
  for (const op of delta) {
    if (op.retain) pos += op.retain
    else if (typeof op.insert === 'string') {
      if (pos <= out) out += op.insert.length
      pos += op.insert.length
    } else if (op.delete) {
      if (pos < out) out -= Math.min(op.delete, out - pos)
    }
  }
  return out
}

export function NotesPanel({ model, room }: { model: ChatModel; room: string }) {
  const area = useRef<HTMLTextAreaElement>(null)
  const undo = useRef<Y.UndoManager | null>(null)
  const [status, setStatus] = useState<NotesStatus>({ synced: false, unsynced: 0, error: null, canUndo: false, canRedo: false })

  useEffect(() => {
    const doc = new Y.Doc()
    const text = doc.getText('notes')
    const provider = new SamsaYjsProvider(model.client, doc, { topic: notesTopic(room), id: `notes-${room}`, snapshotEveryUpdates: 50 })
    const manager = new Y.UndoManager(text, { trackedOrigins: new Set([LOCAL_ORIGIN]), captureTimeout: 600 })
    undo.current = manager
    const update = (patch: Partial<NotesStatus>) => setStatus((s) => ({ ...s, ...patch }))
    const stackChanged = () => update({ canUndo: manager.undoStack.length > 0, canRedo: manager.redoStack.length > 0 })
    manager.on('stack-item-added', stackChanged)
    manager.on('stack-item-popped', stackChanged)
    manager.on('stack-cleared', stackChanged)

    text.observe((event, tx) => {
      const el = area.current
      if (!el) return
      const value = text.toString()
      if (tx.origin === LOCAL_ORIGIN && el.value === value) return
      // Someone else's edit (or an undo): keep the caret where it was in the text around it.
      const delta = event.delta as { retain?: number; insert?: unknown; delete?: number }[]
      const [start, end] = [mapIndex(el.selectionStart, delta), mapIndex(el.selectionEnd, delta)]
      el.value = value
      if (document.activeElement === el) el.setSelectionRange(start, end)
    })
    const offs = [
      provider.on('synced', () => update({ synced: true })),
      provider.on('unsynced-changes', (n) => update({ unsynced: n })),
      provider.on('error', (e) => {
        update({ error: `${(e as { errorName?: string }).errorName ?? e.name}: ${e.message}` })
        model.notice('error', `Notes of ${room}: ${e.message}`)
      }),
    ]
    update({ synced: provider.synced, unsynced: provider.unsyncedChanges, error: null })
    if (area.current) area.current.value = text.toString()
    const onInput = () => {
      const el = area.current
      if (el) doc.transact(() => applyDiff(text, text.toString(), el.value), LOCAL_ORIGIN)
    }
    area.current?.addEventListener('input', onInput)
    const el = area.current
    return () => {
      el?.removeEventListener('input', onInput)
      for (const off of offs) off()
      manager.destroy()
      undo.current = null
      void provider.destroy().finally(() => doc.destroy())
    }
  }, [model, room])

  const onKeyDown = (e: KeyboardEvent) => {
    const mod = e.ctrlKey || e.metaKey
    if (!mod) return
    const key = e.key.toLowerCase()
    if (key === 'z' && !e.shiftKey) {
      e.preventDefault()
      undo.current?.undo()
    } else if ((key === 'z' && e.shiftKey) || key === 'y') {
      e.preventDefault()
      undo.current?.redo()
    }
  }

  return (
    <section class="notes" aria-labelledby="notes-title">
      <h2 id="notes-title">Room notes</h2>
      <label for="notes-text" class="sr-only">
        Shared notes of # {room}
      </label>
      <textarea id="notes-text" ref={area} onKeyDown={onKeyDown} aria-describedby="notes-state" spellcheck={true} placeholder="Notes everyone in this room can edit" />
      <p class="meta" id="notes-state" data-testid="notes-state" data-synced={status.synced ? 'true' : 'false'} data-unsynced={status.unsynced}>
        <span>{status.synced ? 'synced' : 'syncing…'}</span>
        {status.unsynced > 0 && <span>{` · ${status.unsynced} edit(s) not yet sent`}</span>}
      </p>
      {status.error && (
        <p class="notice notice-error" role="alert">
          {status.error}
        </p>
      )}
      <div class="row">
        <button type="button" onClick={() => undo.current?.undo()} disabled={!status.canUndo}>
          Undo my edit
        </button>
        <button type="button" onClick={() => undo.current?.redo()} disabled={!status.canRedo}>
          Redo
        </button>
      </div>
    </section>
  )
}
