/**
 * A page whose FIRST load happens offline: its producer has never had an identity (no producer id, so no outbox
 * batch can be built). What it is sent goes to the `pending` store in IndexedDB; the page is reloaded while still
 * offline; once the broker is reachable the reloaded page's producer gets its identity, turns the stored records
 * into outbox batches and sends them: each is in the topic exactly once, in order.
 *
 * The page and the SDK bundle load through the same proxy, so the proxy is blocked only once the page has loaded
 * (?defer=1: the page imports the bundle, then waits for e2eStart() before it creates the client).
 */
import { expect, test, type Page } from '@playwright/test'
import { checkHistory, describeReport } from '../test/support/history-checker.js'
import { pageState, readStore, startEnv, values, watchPage, type Env } from './support/harness.js'

const QUEUED = 200

/** Waits until the deferred page has loaded the SDK bundle (window.__e2e.loaded). */
async function waitLoaded(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as any).__e2e?.loaded === true || (window as any).__e2e?.fatal, undefined, { timeout: 20_000 })
  expect(await page.evaluate(() => (window as any).__e2e?.fatal ?? null), 'the page script failed').toBeNull()
}

/** Creates the page's client and producer (the SDK starts connecting now) and waits until e2eSend exists. */
async function startProducer(page: Page): Promise<void> {
  await page.evaluate(() => (window as any).e2eStart())
  await page.waitForFunction(() => (window as any).__e2e?.ready === true || (window as any).__e2e?.fatal, undefined, { timeout: 20_000 })
  expect(await page.evaluate(() => (window as any).__e2e?.fatal ?? null), 'the page script failed').toBeNull()
}

test('records sent before the producer ever connected survive a reload and are sent exactly once, in order', async ({ browser }) => {
  let env: Env | null = null
  const context = await browser.newContext()
  try {
    env = await startEnv()
    const topic = 'first-load-offline'
    await env.node().admin.createTopic(topic, { partitions: 1 })
    await env.serve(context)
    const page = await context.newPage()
    const problems = watchPage(page, 'producer')
    const url = env.pageUrl('producer', { topic, producer: 'p1', defer: 1 })
    await page.goto(url)
    await waitLoaded(page)

    // Offline from the SDK's first attempt on: it never connects in this page life.
    env.proxy.block()
    env.proxy.cut()
    const acceptedBefore = env.proxy.stats.accepted
    await startProducer(page)
    const all = values('p1', QUEUED)
    await page.evaluate((v) => (window as any).e2eSend(v, 4), all)
    await expect.poll(() => page.evaluate(() => (window as any).e2ePending()), { timeout: 15_000 }).toMatchObject({ batches: 0, records: QUEUED })
    // Durable before the reload: every record is a row of the `pending` store (the outbox and identity are empty).
    await expect
      .poll(async () => (await readStore<{ value: number[] }>(page, 'app', 'pending')).length, { timeout: 15_000, message: 'every record in the pending store' })
      .toBe(QUEUED)
    expect(await readStore(page, 'app', 'outbox')).toEqual([])
    expect(await readStore(page, 'app', 'producers')).toEqual([])
    await expect.poll(() => env!.proxy.stats.refused, { timeout: 15_000, message: 'the SDK to try to connect and be refused' }).toBeGreaterThanOrEqual(1)

    // Reload while still offline: the page's promises are gone, the pending store is not.
    await page.reload()
    await waitLoaded(page)
    await startProducer(page)
    await expect
      .poll(() => page.evaluate(() => (window as any).e2ePending()), { timeout: 15_000, message: 'the reloaded producer to count the stored records' })
      .toMatchObject({ batches: 0, records: QUEUED })
    const pendingAfterReload = await page.evaluate(() => (window as any).e2ePending())
    expect((await readStore(page, 'app', 'pending')).length).toBe(QUEUED)
    expect(env.proxy.stats.accepted, 'no connection of the page got through while blocked').toBe(acceptedBefore)
    expect((await env.drain(topic)).length, 'nothing reached the broker while offline').toBe(0)

    env.proxy.unblock()
    await expect
      .poll(() => page.evaluate(() => (window as any).e2ePending()), { timeout: 60_000, message: `the stored records to be delivered; page: ${await pageState(page)}` })
      .toMatchObject({ batches: 0, records: 0 })
    await expect.poll(async () => (await env!.drain(topic)).length, { timeout: 30_000 }).toBe(QUEUED)
    const drained = await env.drain(topic)
    const report = checkHistory({ attempted: all, acked: [], drained })
    expect(report.ok, describeReport(report)).toBe(true)
    expect(drained.map((r) => r.value)).toEqual(all)
    expect(await readStore(page, 'app', 'pending')).toEqual([])
    expect(await readStore(page, 'app', 'outbox')).toEqual([])
    const recovered = await page.evaluate(() => (window as any).__e2e.recovered as { offset: number }[][])
    expect(recovered.flat().map((m) => m.offset).sort((a, b) => a - b), 'onRecovered reports every stored record once').toEqual(drained.map((r) => r.offset))
    expect(problems.filter((p) => p.includes('pageerror'))).toEqual([])
    console.log(
      `first-load-offline: ${QUEUED} records sent before the first connection (pending after reload ${JSON.stringify(pendingAfterReload)}), ` +
        `onRecovered reported ${recovered.flat().length} records in ${recovered.length} call(s); broker holds ${drained.length}, each once, in order`,
    )
  } finally {
    await context.close()
    await env?.close()
  }
})
