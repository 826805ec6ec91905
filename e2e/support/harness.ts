/**
 * @module Shared e2e harness: a broker child process (temp data dir) behind a TCP proxy whose port — hence the
 * pages' ORIGIN and IndexedDB — stays the same across broker restarts; the e2e pages (e2e/pages/*.html) served
 * with context.route on that origin; a Node SDK client (dist, over `ws`) for producing and for draining the topic
 * on the broker side. Every child process is killed in `close()`.
 */
import { expect, type BrowserContext, type Page } from '@playwright/test'
import { createClient, type SamsaClient } from '@samsa/client-browser'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { killAll, startChildBroker, type ChildBroker } from '../../test/support/child-broker.js'
import { startTcpProxy, type TcpProxy } from '../../test/support/tcp-proxy.js'

const PAGES_DIR = fileURLToPath(new URL('../pages/', import.meta.url))
export const SDK_BUNDLE = fileURLToPath(new URL('../../packages/client-browser/dist/samsa.js', import.meta.url))

export interface Read {
  readonly partition: number
  readonly offset: number
  readonly value: string
}

export interface Env {
  readonly dataDir: string
  readonly proxy: TcpProxy
  /** The current broker process (replaced by restart()). */
  readonly broker: ChildBroker
  /** A Node SDK client that talks to the broker directly (not through the proxy). */
  node(): SamsaClient
  /** http://127.0.0.1:PROXYPORT/e2e/<name>.html?<params> */
  pageUrl(name: string, params?: Record<string, string | number>): string
  /** Serves e2e/pages/*.html on the proxy's origin, and the SDK bundle through the proxy with the built file as offline fallback. */
  serve(context: BrowserContext): Promise<void>
  /** SIGKILLs the broker (kill -9) and waits for it to exit. */
  kill9(): Promise<void>
  /** Starts a broker on the same data dir (new port) and points the proxy at it. */
  restart(): Promise<void>
  /** Every record of the topic, read from the broker from earliest to the end offset of each partition. */
  drain(topic: string, opts?: { timeoutMs?: number }): Promise<Read[]>
  close(): Promise<void>
}

/** Fails early with one clear line when the build output the suite needs is missing. */
export function assertBuilt(): void {
  if (!existsSync(SDK_BUNDLE)) throw new Error(`${SDK_BUNDLE} is missing: run \`npm run build\` in the repository root first`)
}

/**
 * Serves e2e/pages/*.html on the origin of `proxy` (http://127.0.0.1:PORT), and the SDK bundle through the proxy
 * with the built file as offline fallback; grants the origin the permission its WebSockets to 127.0.0.1 need.
 */
export async function servePages(context: BrowserContext, proxy: { readonly host: string; readonly httpUrl: string }): Promise<void> {
  // A page fulfilled by context.route has no IP address space, so Chromium's Local Network Access checks treat it
  // as public and block its WebSocket to 127.0.0.1 (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS) unless the
  // origin holds the permission.
  await context.grantPermissions(['local-network-access'], { origin: proxy.httpUrl })
  // A URL predicate, not the glob '**/e2e/*.html': the glob does not match once the page has ?query params.
  await context.route((url) => url.host === proxy.host && /^\/e2e\/[\w-]+\.html$/.test(url.pathname), async (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop()!
    const file = join(PAGES_DIR, name)
    if (!existsSync(file)) return route.fulfill({ status: 404, body: `no e2e page ${name}` })
    return route.fulfill({ contentType: 'text/html; charset=utf-8', body: readFileSync(file, 'utf8') })
  })
  // The bundle goes through the proxy like everything else; while the proxy refuses connections (an offline
  // test, or its broker is down), the built file stands in for it — what a service worker's cache would do in an
  // offline-first app.
  await context.route((url) => url.host === proxy.host && url.pathname === '/sdk/samsa.js', async (route) => {
    try {
      const response = await route.fetch({ timeout: 5_000 })
      if (response.ok()) return await route.fulfill({ response })
    } catch {
      // fall through to the cached copy
    }
    return route.fulfill({ contentType: 'text/javascript; charset=utf-8', body: readFileSync(SDK_BUNDLE, 'utf8') })
  })
}

export async function startEnv(brokerArgs: readonly string[] = []): Promise<Env> {
  assertBuilt()
  const dataDir = await mkdtemp(join(tmpdir(), 'samsa-e2e-'))
  let broker = await startChildBroker(dataDir, brokerArgs)
  const proxy = await startTcpProxy({ targetPort: broker.port })
  const clients: SamsaClient[] = []
  let nodeClient: SamsaClient | null = null
  const node = () => {
    if (!nodeClient) {
      nodeClient = createClient({ brokers: [broker.url], clientId: 'e2e-node', WebSocket })
      clients.push(nodeClient)
    }
    return nodeClient
  }
  const env: Env = {
    dataDir,
    proxy,
    get broker() {
      return broker
    },
    node,
    pageUrl(name, params = {}) {
      const q = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))
      return `${proxy.httpUrl}/e2e/${name}.html${q.size ? `?${q}` : ''}`
    },
    serve(context) {
      return servePages(context, proxy)
    },
    async kill9() {
      if (nodeClient) {
        const c = nodeClient
        nodeClient = null
        void c.close().catch(() => {})
      }
      broker.kill('SIGKILL')
      await broker.exited
    },
    async restart() {
      broker = await startChildBroker(dataDir, brokerArgs)
      proxy.setTarget(broker.port)
    },
    async drain(topic, opts = {}) {
      const client = node()
      const desc = await client.admin.describeTopic(topic)
      const ends = new Map<number, number>()
      const starts = new Map<number, number>()
      for (const p of desc.partitions) {
        ends.set(p.partition, (await client.admin.listOffsets(topic, p.partition, 'latest')).offset)
        starts.set(p.partition, (await client.admin.listOffsets(topic, p.partition, 'earliest')).offset)
      }
      const out: Read[] = []
      const remaining = new Set([...ends].filter(([p, end]) => end > starts.get(p)!).map(([p]) => p))
      if (remaining.size === 0) return out
      const sub = client.consumer().subscribe(topic, { from: 'earliest' })
      const timeoutMs = opts.timeoutMs ?? 30_000
      const timer = setTimeout(() => void sub.close(), timeoutMs)
      try {
        for await (const r of sub) {
          out.push({ partition: r.partition, offset: r.offset, value: r.text() })
          if (r.offset + 1 >= ends.get(r.partition)!) remaining.delete(r.partition)
          if (remaining.size === 0) break
        }
      } finally {
        clearTimeout(timer)
        await sub.close()
      }
      if (remaining.size > 0) throw new Error(`drain of ${topic} timed out after ${timeoutMs} ms with ${out.length} records; ends ${JSON.stringify([...ends])}`)
      return out
    },
    async close() {
      await Promise.allSettled(clients.map((c) => Promise.race([c.close(), new Promise((r) => setTimeout(r, 2_000).unref())])))
      await proxy.close().catch(() => {})
      await broker.stop(5_000).catch(() => {})
      await killAll()
      await rm(dataDir, { recursive: true, force: true }).catch(() => {})
    },
  }
  return env
}

/** Produces `values` to partition 0 of `topic` from Node, in chunks, acks all; returns the metadata. */
export async function produceFromNode(env: Env, topic: string, values: readonly string[], chunk = 200): Promise<void> {
  const producer = env.node().producer({ acks: 'all' })
  for (let i = 0; i < values.length; i += chunk) {
    await producer.send(
      topic,
      values.slice(i, i + chunk).map((value) => ({ value, partition: 0 })),
    )
  }
}

/** Reads every row of an object store of an IndexedDB database on the page's origin (opened without a version). */
export async function readStore<T = unknown>(page: Page, databaseName: string, store: string): Promise<T[]> {
  return page.evaluate(
    ([db, name]) =>
      new Promise<unknown[]>((resolve, reject) => {
        const open = indexedDB.open(db)
        open.onerror = () => reject(open.error)
        open.onsuccess = () => {
          const conn = open.result
          if (!conn.objectStoreNames.contains(name)) {
            conn.close()
            reject(new Error(`no object store ${name} in ${db}; stores: ${Array.from(conn.objectStoreNames).join(', ')}`))
            return
          }
          const req = conn.transaction(name, 'readonly').objectStore(name).getAll()
          req.onsuccess = () => {
            conn.close()
            resolve(req.result)
          }
          req.onerror = () => {
            conn.close()
            reject(req.error)
          }
        }
      }),
    [databaseName, store] as const,
  ) as Promise<T[]>
}

/** Values `<prefix>-000001`… in send order; the history checker parses `<producer>-<counter>`. */
export const values = (prefix: string, n: number, from = 1) => Array.from({ length: n }, (_, i) => `${prefix}-${String(from + i).padStart(6, '0')}`)

/** Seeded PRNG (mulberry32) so a failing random point can be replayed: the seed is printed. */
export function seededRandom(seed = Number(process.env.E2E_SEED ?? Date.now() % 2 ** 31)): { seed: number; next(): number; int(lo: number, hi: number): number } {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { seed, next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) }
}

/** Collects a page's console errors and uncaught exceptions, for failure messages. */
export function watchPage(page: Page, label: string): string[] {
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(`[${label}] pageerror: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`[${label}] console.${m.type()}: ${m.text()}`)
  })
  return problems
}

/** Waits until the page's e2e script says it is running (window.__e2e.ready), or fails with its error. */
export async function waitReady(page: Page, timeoutMs = 20_000): Promise<void> {
  try {
    await page.waitForFunction(() => (window as any).__e2e?.ready === true || (window as any).__e2e?.fatal, undefined, { timeout: timeoutMs })
  } catch (e) {
    const text = await page.locator('#out').textContent({ timeout: 1_000 }).catch(() => null)
    throw new Error(`the page at ${page.url()} did not get ready within ${timeoutMs} ms; it shows: ${JSON.stringify(text)}; ${(e as Error).message}`)
  }
  const fatal = await page.evaluate(() => (window as any).__e2e?.fatal ?? null)
  expect(fatal, 'the page script failed').toBeNull()
}

/** The page's window.__e2e (without the bulky arrays' middles), for failure messages. */
export async function pageState(page: Page): Promise<string> {
  return page
    .evaluate(() => {
      const s = (window as any).__e2e
      if (!s) return 'no window.__e2e'
      const short = (v: unknown) => (Array.isArray(v) && v.length > 12 ? [...v.slice(0, 6), `… ${v.length - 12} more …`, ...v.slice(-6)] : v)
      return JSON.stringify(Object.fromEntries(Object.entries(s).map(([k, v]) => [k, short(v)])))
    })
    .catch((e) => `page state unavailable: ${(e as Error).message}`)
}
