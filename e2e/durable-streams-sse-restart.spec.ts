/**
 * A browser page reads a Durable Stream with the protocol's own client (@durable-streams/client, bundled with
 * esbuild and served from the broker's origin) in SSE live mode; the broker is killed (kill -9) and started again
 * on the same data behind the same origin: the page resumes over SSE from the offset the client reported (a new
 * stream() when the client's own stream fails: 0.2.6 reconnects only an SSE response that ended cleanly), and
 * ends with every record exactly once, in order.
 */
import { expect, test, type Page } from '@playwright/test'
import { buildSync } from 'esbuild'
import { fileURLToPath } from 'node:url'
import { startEnv, type Env } from './support/harness.js'

const STREAM = 'ds-sse-restart'
const CLIENT_ENTRY = fileURLToPath(new URL('../node_modules/@durable-streams/client/dist/index.js', import.meta.url))

function clientBundle(): string {
  const r = buildSync({ entryPoints: [CLIENT_ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' })
  return r.outputFiles[0]!.text
}

async function append(env: Env, values: readonly string[]) {
  for (const v of values) {
    const r = await fetch(`${env.proxy.httpUrl}/v1/stream/${STREAM}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: v })
    expect(r.status).toBe(204)
  }
}

const received = (page: Page) => page.evaluate(() => (window as unknown as { __e2e: { chunks: { text: string }[] } }).__e2e.chunks.map((c) => c.text).join(''))

test('an SSE reader with @durable-streams/client crosses a broker restart without a gap or a duplicate', async ({ browser }) => {
  let env: Env | null = null
  const context = await browser.newContext()
  try {
    env = await startEnv()
    await env.serve(context)
    const bundle = clientBundle()
    await context.route((url) => url.host === env!.proxy.host && url.pathname === '/e2e/durable-streams-client.js', (route) =>
      route.fulfill({ contentType: 'text/javascript; charset=utf-8', body: bundle }),
    )
    const created = await fetch(`${env.proxy.httpUrl}/v1/stream/${STREAM}`, { method: 'PUT', headers: { 'content-type': 'text/plain' } })
    expect(created.status).toBe(201)
    const before = Array.from({ length: 5 }, (_, i) => `r${i};`)
    const after = Array.from({ length: 5 }, (_, i) => `r${i + 5};`)
    await append(env, before)

    const page = await context.newPage()
    const sse: string[] = []
    page.on('request', (r) => {
      if (r.url().includes('live=sse')) sse.push(new URL(r.url()).searchParams.get('offset') ?? '')
    })
    const failed: string[] = []
    page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`))
    page.on('console', (m) => failed.push(`console ${m.type()} ${m.text()}`))
    await page.goto(env.pageUrl('durable-stream-reader', { stream: STREAM }))
    await expect.poll(() => page.evaluate(() => (window as unknown as { __e2e: { ready: boolean; fatal: string | null } }).__e2e.fatal ?? (window as unknown as { __e2e: { ready: boolean } }).__e2e.ready)).toBe(true)
    await expect.poll(() => received(page)).toBe(before.join(''))
    const firstSse = sse.length
    expect(firstSse).toBeGreaterThan(0)

    await env.kill9()
    await env.restart()
    await append(env, after)
    await expect.poll(() => received(page), { timeout: 30_000 }).toBe([...before, ...after].join('')).catch(async (e: unknown) => {
      console.log('DEBUG', JSON.stringify(await page.evaluate(() => (window as unknown as { __e2e: unknown }).__e2e)), JSON.stringify(sse), JSON.stringify(failed))
      throw e
    })
    // The resume was an SSE request from where the page was, not from the start.
    const resumed = sse.slice(firstSse)
    expect(resumed.length).toBeGreaterThan(0)
    expect(resumed.every((o) => o !== '-1' && o !== '')).toBe(true)
    // Nothing more arrives later (no duplicate delivered after the fact).
    await append(env, ['end;'])
    await expect.poll(() => received(page)).toBe([...before, ...after, 'end;'].join(''))
  } finally {
    await context.close()
    await env?.close()
  }
})
