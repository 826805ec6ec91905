/**
 * The Yjs provider (`@samsa/client-browser/yjs`) against a real broker: documents converge (two and three, one of
 * them offline through a TCP proxy, editing, reloading with a new client and storage over the same IndexedDB, and
 * coming back); a client joining after a snapshot and after retention removed the old updates gets the full state;
 * no update is applied twice; awareness peers time out; destroy() leaves nothing behind.
 */
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { createClient, inProcessLockManager, indexedDbStorage, type ClientStorage, type SamsaClient } from '@samsa/client-browser'
import { SamsaYjsProvider, YjsGapError, indexedDbDocStore, type SamsaYjsProviderOptions, type YjsDocStore } from '@samsa/client-browser/yjs'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'
import { until } from '../support/until.js'

/** One browser page: its own IndexedDB (factory), storage, client, document and provider. */
interface Page {
  readonly name: string
  readonly factory: IDBFactory
  readonly storage: ClientStorage
  readonly docStore: YjsDocStore
  readonly client: SamsaClient
  readonly doc: Y.Doc
  readonly provider: SamsaYjsProvider
  readonly errors: Error[]
  /** Transactions the provider ran on the document (one per applied record, stored state or snapshot). */
  providerTransactions: number
  /** 'update' events of the document whose origin is the provider. */
  providerUpdates: number
  text(): string
}

const pages = new Set<Page>()

function openPage(name: string, url: string, opts: Omit<SamsaYjsProviderOptions, 'id'> & { id?: string }, factory = new IDBFactory()): Page {
  const storage = indexedDbStorage({ indexedDB: factory })
  const docStore = indexedDbDocStore({ indexedDB: factory })
  const client = createClient({ brokers: [url], clientId: name, WebSocket: WebSocket as never, storage, locks: inProcessLockManager(), reconnectBackoff: { baseMs: 50, capMs: 300 } })
  const doc = new Y.Doc()
  const provider = new SamsaYjsProvider(client, doc, { id: 'notes', docStore, persistDelayMs: 20, ...opts })
  const page: Page = {
    name,
    factory,
    storage,
    docStore,
    client,
    doc,
    provider,
    errors: [],
    providerTransactions: 0,
    providerUpdates: 0,
    text: () => doc.getText('notes').toString(),
  }
  provider.on('error', (e) => page.errors.push(e))
  doc.on('afterTransaction', (tr: Y.Transaction) => {
    if (tr.origin === provider) page.providerTransactions++
  })
  doc.on('update', (_u: Uint8Array, origin: unknown) => {
    if (origin === provider) page.providerUpdates++
  })
  pages.add(page)
  return page
}

/** Closes the page as a reload does: the provider stores what it read, the client closes; IndexedDB stays. */
async function closePage(page: Page): Promise<void> {
  pages.delete(page)
  await page.provider.destroy()
  await page.client.close()
  await page.storage.close()
  await page.docStore.close()
}

const type = (page: Page, s: string) => page.doc.getText('notes').insert(page.doc.getText('notes').length, s)

async function converged(list: readonly Page[], markers: readonly string[], timeoutMs = 20_000): Promise<void> {
  const done = () => {
    const texts = list.map((p) => p.text())
    return texts.every((t) => t === texts[0]) && markers.every((m) => texts[0]!.includes(m))
  }
  await until(done, { timeoutMs, what: 'the documents to converge' }).catch((e: unknown) => {
    throw new Error(`${String(e)}: ${list.map((p) => `${p.name}: ${JSON.stringify(p.text())} errors [${p.errors.join('; ')}]`).join(' | ')}`)
  })
  for (const m of markers) expect(list[0]!.text().split(m).length - 1, `${m} appears once`).toBe(1)
}

let topicSeq = 0
const freshTopic = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${topicSeq++}`

afterEach(async () => {
  for (const p of [...pages]) await closePage(p)
})

describe('SamsaYjsProvider against a broker', () => {
  let fx: BrokerFixture
  let proxy: TcpProxy

  beforeAll(async () => {
    fx = await startBrokerFixture()
    proxy = await startTcpProxy(fx.running.port)
  })
  afterAll(async () => {
    await proxy?.close()
    await fx?.dispose()
  })

  it('two documents converge, and each applies every remote update exactly once', async () => {
    const topic = freshTopic('notes')
    const a = openPage('a', fx.running.url, { topic, snapshotEveryUpdates: 0 })
    const b = openPage('b', fx.running.url, { topic, snapshotEveryUpdates: 0 })
    await Promise.all([a.provider.whenSynced, b.provider.whenSynced])
    expect(a.provider.synced && b.provider.synced).toBe(true)
    for (let i = 0; i < 10; i++) type(a, `a${i} `)
    for (let i = 0; i < 7; i++) type(b, `b${i} `)
    await converged([a, b], [...Array.from({ length: 10 }, (_, i) => `a${i} `), ...Array.from({ length: 7 }, (_, i) => `b${i} `)])
    await until(() => a.provider.unsyncedChanges === 0 && b.provider.unsyncedChanges === 0, { what: 'outboxes to empty' })
    // Each remote edit is one record, applied in one transaction with one update event; own records are not applied.
    await until(() => a.providerTransactions === 7 && b.providerTransactions === 10, { what: `transactions a=${a.providerTransactions} b=${b.providerTransactions}` })
    expect([a.providerUpdates, b.providerUpdates]).toEqual([7, 10])
    expect([...a.errors, ...b.errors]).toEqual([])
  })

  it('three documents converge while one is offline, edits, reloads (new client and storage over the same IndexedDB) and comes back', async () => {
    const topic = freshTopic('notes')
    const a = openPage('a', fx.running.url, { topic, snapshotEveryUpdates: 5 })
    let b = openPage('b', proxy.url, { topic, snapshotEveryUpdates: 5 })
    const c = openPage('c', fx.running.url, { topic, snapshotEveryUpdates: 5 })
    await Promise.all([a, b, c].map((p) => p.provider.whenSynced))
    type(a, 'a-online ')
    type(b, 'b-online ')
    await converged([a, b, c], ['a-online ', 'b-online '])

    // b goes offline and keeps editing; a and c keep editing too.
    proxy.block()
    proxy.cut()
    await until(() => b.client.state.status !== 'connected', { what: 'b to notice it is offline' })
    for (let i = 0; i < 4; i++) type(b, `b-offline${i} `)
    type(a, 'a-while-b-offline ')
    type(c, 'c-while-b-offline ')
    await until(() => b.provider.unsyncedChanges === 4, { what: `b to count 4 unsynced changes (has ${b.provider.unsyncedChanges})` })
    await converged([a, c], ['a-while-b-offline ', 'c-while-b-offline '])

    // b reloads while still offline: its document comes back from its IndexedDB, its edits wait in the outbox.
    const bFactory = b.factory
    const textBeforeReload = b.text()
    await closePage(b)
    b = openPage('b', proxy.url, { topic, snapshotEveryUpdates: 5 }, bFactory)
    await until(() => b.text().includes('a-online ') && b.text().includes('b-online '), { what: `b's stored state after the reload: ${JSON.stringify(b.text())}` })
    expect(textBeforeReload).toContain('b-offline0 ')
    await until(() => b.provider.unsyncedChanges === 4, { what: `the reloaded b to count its 4 outbox records (has ${b.provider.unsyncedChanges})` })
    type(b, 'b-after-reload ')

    // Back online: everything converges, each edit exactly once.
    proxy.unblock()
    await converged([a, b, c], ['a-online ', 'b-online ', 'a-while-b-offline ', 'c-while-b-offline ', 'b-after-reload ', ...Array.from({ length: 4 }, (_, i) => `b-offline${i} `)])
    await until(() => b.provider.unsyncedChanges === 0, { what: 'b to empty its outbox' })
    await b.provider.whenSynced
    expect([...a.errors, ...b.errors, ...c.errors]).toEqual([])
  })

  it('a reload replays only the records it has not read: the stored state is applied once, then only new records', async () => {
    const topic = freshTopic('notes')
    const a = openPage('a', fx.running.url, { topic, snapshotEveryUpdates: 0 })
    let c = openPage('c', fx.running.url, { topic, snapshotEveryUpdates: 0 })
    for (let i = 0; i < 20; i++) type(a, `x${i} `)
    await converged([a, c], Array.from({ length: 20 }, (_, i) => `x${i} `))
    expect(c.providerTransactions).toBe(20)
    const cFactory = c.factory
    await closePage(c)

    for (let i = 0; i < 5; i++) type(a, `y${i} `)
    c = openPage('c', fx.running.url, { topic, snapshotEveryUpdates: 0 }, cFactory)
    await converged([a, c], Array.from({ length: 5 }, (_, i) => `y${i} `))
    await c.provider.whenSynced
    // One transaction for the stored state, one per record written while c was away: none of the first 20 again.
    expect(c.providerTransactions).toBe(1 + 5)
    expect(c.providerUpdates).toBe(1 + 5)
    expect(c.errors).toEqual([])
  })

  it('awareness: a peer sees the other, a late joiner sees those online, and a vanished peer times out', async () => {
    const topic = freshTopic('notes')
    const presence = freshTopic('presence')
    const opts = { topic, awarenessTopic: presence, awarenessTimeoutMs: 1_000, snapshotEveryUpdates: 0 }
    const a = openPage('a', proxy.url, opts)
    const b = openPage('b', fx.running.url, opts)
    a.provider.awareness!.setLocalStateField('user', { name: 'Ada' })
    b.provider.awareness!.setLocalStateField('user', { name: 'Bob' })
    const names = (p: Page) => [...p.provider.awareness!.getStates().values()].map((s) => (s['user'] as { name?: string } | undefined)?.name).filter(Boolean).sort()
    await until(() => names(a).join() === 'Ada,Bob' && names(b).join() === 'Ada,Bob', { what: `presence a=${names(a)} b=${names(b)}` })
    const late = openPage('late', fx.running.url, opts)
    late.provider.awareness!.setLocalStateField('user', { name: 'Cy' })
    await until(() => names(late).join() === 'Ada,Bob,Cy', { what: `the late joiner to see everyone: ${names(late)}` })

    // a vanishes without a goodbye (its connection is cut and refused): the others drop it after the timeout.
    proxy.block()
    proxy.cut()
    await until(() => names(b).join() === 'Bob,Cy' && names(late).join() === 'Bob,Cy', { timeoutMs: 10_000, what: `a to time out: b=${names(b)} late=${names(late)}` })
    // Destroying a provider while offline does not wait for its goodbye.
    await closePage(a)
    proxy.unblock()
    // A goodbye: destroy() removes b's state everywhere at once.
    await closePage(b)
    await until(() => names(late).join() === 'Cy', { what: `b's goodbye: ${names(late)}` })
  })

  it('destroy() removes every listener, timer and subscription', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const baseline = timers()
    const topic = freshTopic('notes')
    const a = openPage('a', fx.running.url, { topic, awarenessTopic: freshTopic('presence'), awarenessTimeoutMs: 500 })
    await a.provider.whenSynced
    await a.client.connect()
    const observers = (o: object, event: string) => ((o as { _observers: Map<string, Set<unknown>> })._observers.get(event)?.size ?? 0)
    const awareness = a.provider.awareness!
    expect(observers(a.doc, 'update')).toBe(2) // the provider's and the test's
    expect(observers(awareness, 'update')).toBe(1)
    const listener = () => {}
    a.provider.on('synced', listener)
    type(a, 'hello ')
    await a.provider.destroy()
    expect(observers(a.doc, 'update')).toBe(1) // only the test's
    // y-protocols' Awareness keeps its own doc 'destroy' listener (it has no way to remove it); the provider's is gone.
    expect(observers(a.doc, 'destroy')).toBe(1)
    expect(observers(awareness, 'update')).toBe(0)
    expect(awareness.getLocalState()).toBeNull()
    expect(a.client.state.status).toBe('connected')
    // Nothing of the provider runs on: edits after destroy() are not sent, and no timer of it fires.
    const before = a.providerTransactions
    type(a, 'after-destroy ')
    pages.delete(a)
    await a.client.close()
    await a.storage.close()
    await a.docStore.close()
    // The client's timers and the provider's (awareness checks, persistence, retries) are all gone.
    await until(() => timers() <= baseline, { what: `timers to stop (${timers()} left, ${baseline} before)` })
    expect(a.providerTransactions).toBe(before)
    expect(a.errors).toEqual([])
    await expect(a.provider.destroy()).resolves.toBeUndefined()
  })
})

describe('SamsaYjsProvider with snapshots and retention', () => {
  let fx: BrokerFixture

  beforeAll(async () => {
    // Small segments and a size limit: old update records expire after a few dozen edits.
    fx = await startBrokerFixture({ retentionCheckIntervalMs: 50, log: { segmentBytes: 1_024, retentionBytes: 4_096 } })
  })
  afterAll(async () => {
    await fx?.dispose()
  })

  it('a document joining after a snapshot and after retention removed the old updates receives the full state, without a gap error', async () => {
    const topic = freshTopic('notes')
    const a = openPage('a', fx.running.url, { topic, snapshotEveryUpdates: 10 })
    await a.provider.whenSynced
    const markers = Array.from({ length: 120 }, (_, i) => `e${i} `)
    for (const m of markers) {
      type(a, m)
      // One record per edit, acknowledged before the next, so retention has many small records to remove and
      // never removes one before a has read it back.
      await until(() => a.provider.unsyncedChanges === 0, { what: `${m} to be acknowledged` })
    }
    await until(() => a.provider.unsyncedChanges === 0, { what: 'a to have everything acknowledged' })
    const admin = a.client.admin
    const offsets = async () => `${(await admin.listOffsets(topic, 0, 'earliest')).offset}..${(await admin.listOffsets(topic, 0, 'latest')).offset}`
    await until(async () => (await admin.listOffsets(topic, 0, 'earliest')).offset > 0, { what: 'retention to remove the first update records' }).catch(async (e) => {
      throw new Error(`${e}; offsets ${await offsets()}; errors ${a.errors.join('; ')}`)
    })
    const logStart = (await admin.listOffsets(topic, 0, 'earliest')).offset
    expect((await admin.listOffsets(`${topic}.snapshots`, 0, 'latest')).offset).toBeGreaterThan(0)

    const late = openPage('late', fx.running.url, { topic, snapshotEveryUpdates: 10 })
    await late.provider.whenSynced
    await converged([a, late], markers)
    expect(late.errors).toEqual([])
    // It started from a snapshot at or after the log start: one transaction for it, then only the records after it.
    expect(late.text()).toContain('e0 ')
    expect(late.providerTransactions).toBeLessThanOrEqual(1 + markers.length - logStart)
    expect(a.errors).toEqual([])
  })

  it('a document stored before retention removed the updates it had not read heals the gap from the latest snapshot', async () => {
    const topic = freshTopic('notes')
    const a = openPage('a', fx.running.url, { topic, snapshotEveryUpdates: 10 })
    let stale = openPage('stale', fx.running.url, { topic, snapshotEveryUpdates: 10 })
    type(a, 'first ')
    await converged([a, stale], ['first '])
    const staleFactory = stale.factory
    await closePage(stale)
    const markers = Array.from({ length: 120 }, (_, i) => `s${i} `)
    for (const m of markers) {
      type(a, m)
      await until(() => a.provider.unsyncedChanges === 0, { what: `${m} to be acknowledged` })
    }
    await until(async () => (await a.client.admin.listOffsets(topic, 0, 'earliest')).offset > 1, { what: 'retention to remove the updates stale has not read' })
    stale = openPage('stale', fx.running.url, { topic, snapshotEveryUpdates: 10 }, staleFactory)
    await converged([a, stale], ['first ', ...markers])
    expect(stale.errors).toEqual([])
    expect(a.errors).toEqual([])
  })

  it('without a snapshot, expired updates are reported as a YjsGapError (never hidden)', async () => {
    const topic = freshTopic('notes')
    const a = openPage('a', fx.running.url, { topic, snapshotEveryUpdates: 0 })
    await a.provider.whenSynced
    for (let i = 0; i < 120; i++) {
      type(a, `g${i} `)
      await new Promise((r) => setImmediate(r))
    }
    await until(() => a.provider.unsyncedChanges === 0, { what: 'a to have everything acknowledged' })
    await until(async () => (await a.client.admin.listOffsets(topic, 0, 'earliest')).offset > 0, { what: 'retention to remove the first update records' })
    const late = openPage('late', fx.running.url, { topic, snapshotEveryUpdates: 0 })
    await until(() => late.errors.length > 0, { what: 'the gap to be reported' })
    expect(late.errors[0]).toBeInstanceOf(YjsGapError)
    expect((late.errors[0] as YjsGapError).gap).toMatchObject({ topic, partition: 0, from: 0, reason: 'retention' })
  })
})
