import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { indexedDbDocStore, memoryDocStore, type YjsDocStore } from './doc-store.js'
import { SamsaYjsProvider } from './provider.js'

const edit = (text: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}
const textOf = (state: Uint8Array): string => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, state)
  return doc.getText('t').toString()
}

describe.each([
  ['indexedDbDocStore', () => indexedDbDocStore({ indexedDB: new IDBFactory() })],
  ['memoryDocStore', () => memoryDocStore()],
] as const)('%s', (_name, make: () => YjsDocStore) => {
  it('merges into a union (two tabs never overwrite each other) and keeps the larger offset', async () => {
    const store = make()
    expect(await store.load('notes', 'doc')).toBeNull()
    await store.merge('notes', 'doc', [edit('tab one ')], 7)
    await store.merge('notes', 'doc', [edit('tab two ')], 3)
    const stored = (await store.load('notes', 'doc'))!
    expect(stored.offset).toBe(7)
    expect(textOf(stored.state)).toContain('tab one ')
    expect(textOf(stored.state)).toContain('tab two ')
    expect(await store.load('notes', 'other-doc')).toBeNull()
    await store.delete('notes', 'doc')
    expect(await store.load('notes', 'doc')).toBeNull()
    await store.close()
  })
})

describe('new SamsaYjsProvider(client, doc, options) checks its arguments', () => {
  const client = { producer: () => ({}), consumer: () => ({}) } as never
  it.each([
    [{ id: 'x' }, /options\.topic must be a non-empty string/],
    [{ topic: 't' }, /options\.id must be a non-empty string/],
    [{ topic: 't', id: 'x', snapshotEveryUpdates: -1 }, /options\.snapshotEveryUpdates must be an integer ≥ 0/],
    [{ topic: 't', id: 'x', awarenessTimeoutMs: 10 }, /options\.awarenessTimeoutMs must be an integer ≥ 100/],
    [{ topic: 't', id: 'x', docStore: {} }, /options\.docStore must be a YjsDocStore/],
    [{ topic: 't', id: 'x', awarenessTopic: '' }, /options\.awarenessTopic must be a non-empty string/],
  ])('%o', (opts, message) => {
    expect(() => new SamsaYjsProvider(client, new Y.Doc(), opts as never)).toThrow(message)
  })
  it('rejects a doc that is not a Y.Doc and a client that is not a SamsaClient', () => {
    expect(() => new SamsaYjsProvider(client, {} as never, { topic: 't', id: 'x' })).toThrow(/doc must be a Y\.Doc/)
    expect(() => new SamsaYjsProvider({} as never, new Y.Doc(), { topic: 't', id: 'x' })).toThrow(/client must be a SamsaClient/)
  })
})
