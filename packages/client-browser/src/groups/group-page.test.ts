import 'fake-indexeddb/auto'
import { ApiKeys, SamsaError } from '@samsa/shared'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { inProcessLockManager } from '../storage/identity-lock.js'
import { indexedDbStorage } from '../storage/indexeddb-storage.js'
import type { ClientStorage } from '../storage/stores.js'
import { scriptedGroup } from '../testing/scripted-group.js'
import { until } from '../testing/until.js'
import type { LifecycleListener, PageLifecycle } from './page-lifecycle.js'
import type { SessionStoreLike } from './tab-instance.js'

/** A page lifecycle the test drives. */
function fakePage(): PageLifecycle & { hide(): void; show(): void; pagehide(): void } {
  let listener: LifecycleListener | null = null
  return {
    watch: (l) => ((listener = l), () => (listener = null)),
    hide: () => listener!.hidden(),
    show: () => listener!.visible(),
    pagehide: () => listener!.pagehide(),
  }
}

/** sessionStorage of one tab; `copy()` is what a duplicated tab starts with. */
function session(entries: [string, string][] = []): SessionStoreLike & { copy(): SessionStoreLike & { copy(): unknown } } {
  const m = new Map(entries)
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v), copy: () => session([...m]) }
}

describe('group consumer in a page: lifecycle, per-tab instance id, IndexedDB positions and process()', () => {
  const g = scriptedGroup(2, 11)
  beforeEach(g.setUp)
  afterEach(g.tearDown)
  const { answered, client } = g
  async function produce(partition: number, n: number, from = 0): Promise<void> {
    const c = g.realClockClient()
    const p = c.producer({ lingerMs: 0 })
    for (let i = 0; i < n; i++) await p.send('t', [{ value: `p${partition}-${from + i}`, partition }]) // one batch each
  }

  it('hidden: delivery and heartbeats pause, partitions are kept; visible: a heartbeat at once, delivery resumes', async () => {
    g.coord.answer(1, [{ topic: 't', partitions: [0] }])
    await produce(0, 1)
    const page = fakePage()
    const sub = client().consumer({ groupId: 'g', lifecycle: page }).subscribe('t', { fromBeginning: true })
    const it = sub[Symbol.asyncIterator]()
    expect((await it.next()).value.offset).toBe(0)
    await until(() => g.coord.heartbeats.length === 2, { what: 'owned heartbeat' })
    page.hide()
    const beats = g.coord.heartbeats.length
    const pushes = g.broker.pushes.length
    await produce(0, 1, 1)
    let second: number | null = null
    void it.next().then((r) => (second = r.done === true ? -1 : r.value.offset))
    await until(() => g.broker.pushes.length > pushes, { what: 'the push of offset 1 while hidden' })
    await answered(sub) // the client handled every heartbeat answer: its next heartbeat timer is set
    g.clock.advance(g.coord.intervalMs * 5)
    await new Promise((resolve) => setImmediate(resolve))
    expect(g.coord.heartbeats.length).toBe(beats)
    expect(second).toBeNull()
    expect(sub.assignment).toEqual([{ topic: 't', partition: 0 }])
    page.show()
    await until(() => g.coord.heartbeats.length === beats + 1, { what: 'the heartbeat on return' })
    await until(() => second !== null, { what: 'delivery resumed' })
    expect(second).toBe(1)
    expect(g.coord.last!.memberEpoch).toBe(1)
  })

  it('pagehide: positions committed, then the member leaves (−2 for a static member); back from the back/forward cache it rejoins and resumes from the commit', async () => {
    g.coord.answer(1, [{ topic: 't', partitions: [0] }])
    await produce(0, 3)
    const page = fakePage()
    const sub = client().consumer({ groupId: 'g', instanceId: 'kiosk-1', lifecycle: page }).subscribe('t', { fromBeginning: true })
    const lost: unknown[] = []
    sub.on('lost', (tps) => lost.push(tps))
    const it = sub[Symbol.asyncIterator]()
    expect((await it.next()).value.offset).toBe(0)
    expect((await it.next()).value.offset).toBe(1) // done with 0
    await until(() => g.coord.heartbeats.length === 2, { what: 'owned heartbeat' })
    page.hide()
    // Nothing on pagehide waits for an answer: the commit stays unanswered, the leave goes out right after it.
    g.broker.unanswered.add(ApiKeys.OFFSET_COMMIT)
    page.pagehide()
    await until(() => g.coord.last?.memberEpoch === -2, { what: 'the leave' })
    const sent = g.broker.requests.map((r) => r.apiKey)
    expect(sent.slice(-2)).toEqual(['OFFSET_COMMIT', 'CONSUMER_GROUP_HEARTBEAT'])
    expect(g.broker.requests.at(-2)!.body).toMatchObject({ memberEpoch: 1, topics: [{ topic: 't', partitions: [{ partition: 0, offset: 1 }] }] })
    expect(g.coord.last!.instanceId).toBe('kiosk-1')
    // (The page stayed: the unanswered commit is given up with the connection.)
    g.broker.unanswered.delete(ApiKeys.OFFSET_COMMIT)
    g.coord.offsets.set('t/0', { offset: 1, leaderEpoch: 0 })
    g.broker.dropConnections()
    // The page comes back: it drops what it held (without committing) and rejoins with its instance id.
    g.coord.answer(2, [{ topic: 't', partitions: [0] }])
    page.show()
    // (Time moves for the reconnect's backoff.)
    await until(() => (g.clock.advance(20), g.coord.events.includes('heartbeat 2 [t/0]')), { what: 'the rejoin' })
    expect(lost).toEqual([[{ topic: 't', partition: 0 }]])
    expect(g.coord.heartbeats.at(-2)).toMatchObject({ memberEpoch: 0, instanceId: 'kiosk-1', ownedPartitions: [] })
    expect((await it.next()).value.offset).toBe(1) // from the committed offset: record 1 was in hand, not done
  })

  it('close() after pagehide (the page goes away) sends no second commit or leave', async () => {
    g.coord.answer(1, [{ topic: 't', partitions: [0] }])
    await produce(0, 2)
    const page = fakePage()
    const sub = client().consumer({ groupId: 'g', instanceId: 'kiosk-2', lifecycle: page }).subscribe('t', { fromBeginning: true })
    const it = sub[Symbol.asyncIterator]()
    await it.next()
    await it.next()
    await until(() => g.coord.heartbeats.length === 2, { what: 'owned heartbeat' })
    page.pagehide()
    await until(() => g.coord.last?.memberEpoch === -2, { what: 'the leave' })
    const requests = g.broker.requests.length
    await sub.close()
    expect(g.broker.requests.slice(requests).map((r) => r.apiKey).filter((k) => k === 'OFFSET_COMMIT' || k === 'CONSUMER_GROUP_HEARTBEAT')).toEqual([])
  })

  it("instanceId 'tab' is kept across a reload (sessionStorage); a duplicated tab takes another one; a static member leaves with −2", async () => {
    const tab = session()
    const locks = inProcessLockManager()
    g.coord.answer(1, [])
    const first = client({ locks }).consumer({ groupId: 'g', instanceId: 'tab', sessionStore: tab, lifecycle: null }).subscribe('t')
    await until(() => g.coord.heartbeats.length === 1, { what: 'join' })
    const id = g.coord.heartbeats[0]!.instanceId
    expect(id).toMatch(/^tab-[0-9a-f]{32}$/)
    expect(first.instanceId).toBe(id)

    // A duplicated tab starts with a copy of the sessionStorage, but the id's lock is held: it waits a little, then takes a new id.
    const duplicate = client({ locks }).consumer({ groupId: 'g', instanceId: 'tab', sessionStore: tab.copy(), lifecycle: null }).subscribe('t')
    await until(() => (g.clock.advance(100), g.coord.heartbeats.length === 2), { what: 'the duplicate joins' })
    expect(g.coord.heartbeats[1]!.instanceId).toMatch(/^tab-/)
    expect(g.coord.heartbeats[1]!.instanceId).not.toBe(id)
    await duplicate.close()

    await first.close()
    expect(g.coord.last).toMatchObject({ memberEpoch: -2, instanceId: id })
    // The reload: a new page (client) over the same tab's sessionStorage.
    const reloaded = client({ locks }).consumer({ groupId: 'g', instanceId: 'tab', sessionStore: tab, lifecycle: null }).subscribe('t')
    // (The old page's lock is released as it closes; the claim retries on the client's clock meanwhile.)
    await until(() => (g.clock.advance(100), g.coord.last?.memberEpoch === 0 && g.coord.last.memberId === reloaded.memberId), { what: 'the reloaded page joins' })
    expect(g.coord.last!.instanceId).toBe(id)
  })

  it("instanceId 'tab' without sessionStorage (Node) is a TypeError naming the way out", () => {
    expect(() => client().consumer({ groupId: 'g', instanceId: 'tab' })).toThrow(/give a fixed instanceId string/)
  })

  describe('IndexedDB positions (fake-indexeddb)', () => {
    const appStores = { version: 1, upgrade: (db: IDBDatabase) => void db.createObjectStore('seen', { keyPath: 'key' }) }
    const req = <T>(r: IDBRequest<T>) => new Promise<T>((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))))
    const seen = async (storage: ClientStorage) => (await storage.atomic!(['seen'], (tx) => req(tx.objectStore('seen').getAll()))) as { key: string; n: number }[]

    it('each partition starts at the newer of the committed offset and the stored position, by (leaderEpoch, offset)', async () => {
      const storage = indexedDbStorage({ indexedDB: new IDBFactory(), databaseName: 'page', appStores })
      await storage.offsets.put('samsa-group:g', 't', 0, { offset: 4, leaderEpoch: 0 })
      await storage.offsets.put('samsa-group:g', 't', 1, { offset: 1, leaderEpoch: 0 })
      g.coord.offsets.set('t/0', { offset: 2, leaderEpoch: 0 })
      g.coord.offsets.set('t/1', { offset: 3, leaderEpoch: 0 })
      await produce(0, 6)
      await produce(1, 5)
      g.coord.answer(1, [{ topic: 't', partitions: [0, 1] }])
      const sub = client({ storage }).consumer({ groupId: 'g', lifecycle: null }).subscribe('t', { fromBeginning: true })
      const got: string[] = []
      for await (const r of sub) {
        got.push(`${r.partition}/${r.offset}`)
        if (got.length === 4) break
      }
      expect(got.sort()).toEqual(['0/4', '0/5', '1/3', '1/4'])
      await storage.close()
    })

    it('process(): exactly once within the page across a revocation whose group commit was lost', async () => {
      const storage = indexedDbStorage({ indexedDB: new IDBFactory(), databaseName: 'page2', appStores })
      await produce(0, 3)
      await produce(1, 2)
      g.coord.answer(1, [{ topic: 't', partitions: [0, 1] }])
      const sub = client({ storage }).consumer({ groupId: 'g', lifecycle: null }).subscribe('t', { fromBeginning: true })
      const revoked: unknown[] = []
      const errors: Error[] = []
      sub.on('revoked', (tps) => revoked.push(tps))
      sub.on('error', (e) => errors.push(e))
      void sub.process(
        async (batch, tx) => {
          const store = tx.objectStore('seen')
          for (const r of batch) {
            const key = `${r.partition}/${r.offset}`
            const before = (await req(store.get(key))) as { n: number } | undefined
            await req(store.put({ key, n: (before?.n ?? 0) + 1 }))
          }
        },
        { stores: ['seen'] },
      )
      await until(async () => (await seen(storage)).length === 5, { what: 'all five processed' })
      // Partition 0 is revoked and its group commit refused; then it comes back.
      g.coord.commitErrors.push(new SamsaError('GROUP_AUTHORIZATION_FAILED', 'not now'))
      g.coord.answer(2, [{ topic: 't', partitions: [1] }])
      await answered(sub) // the client handled every heartbeat answer: its next heartbeat timer is set
      g.clock.advance(g.coord.intervalMs)
      await until(() => g.coord.events.includes('heartbeat 2 [t/1]'), { what: 'the revocation' })
      expect(g.coord.events.slice(-2)).toEqual(['commit t/0@3', 'heartbeat 2 [t/1]'])
      expect(revoked).toEqual([[{ topic: 't', partition: 0 }]])
      expect(g.coord.offsets.has('t/0')).toBe(false)
      expect(errors.map((e) => e.message)).toEqual(['not now'])
      g.coord.answer(3, [{ topic: 't', partitions: [0, 1] }])
      await answered(sub) // the client handled every heartbeat answer: its next heartbeat timer is set
      g.clock.advance(g.coord.intervalMs)
      await until(() => sub.assignment.length === 2, { what: 'partition 0 back' })
      await produce(0, 1, 3)
      await until(async () => (await seen(storage)).length === 6, { what: 'the new record processed' })
      expect((await seen(storage)).every((s) => s.n === 1)).toBe(true)
      await sub.close()
      expect(g.coord.offsets.get('t/0')).toEqual({ offset: 4, leaderEpoch: 0 })
      await storage.close()
    })
  })
})
