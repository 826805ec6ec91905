/**
 * A page queues records while cut off and is reloaded before they are sent: the outbox (IndexedDB) keeps them, the
 * reloaded page's producer (same id) recovers them, and after unblock each is in the topic exactly once, in order.
 */
import { expect, test } from '@playwright/test'
import { checkHistory, describeReport } from '../test/support/history-checker.js'
import { startEnv, values, waitReady, watchPage, type Env } from './support/harness.js'

const QUEUED = 300

test('records queued offline survive a reload and are sent exactly once', async ({ browser }) => {
  let env: Env | null = null
  const context = await browser.newContext()
  try {
    env = await startEnv()
    const topic = 'reload-before-send'
    await env.node().admin.createTopic(topic, { partitions: 1 })
    await env.serve(context)
    const page = await context.newPage()
    const problems = watchPage(page, 'producer')
    const url = env.pageUrl('producer', { topic, producer: 'p1' })
    await page.goto(url)
    await waitReady(page)
    const state = () =>
      page.evaluate(() => {
        const s = (window as any).__e2e
        return { invoked: s.invoked.length, acks: s.acks.length, failed: s.failed, recovered: s.recovered, status: s.statuses.at(-1)?.status ?? null }
      })

    const all = values('p1', QUEUED + 1)
    await page.evaluate((v) => (window as any).e2eSend(v), all.slice(0, 1))
    await expect.poll(async () => (await state()).acks, { timeout: 15_000 }).toBe(1)

    env.proxy.block()
    env.proxy.cut()
    await expect.poll(async () => (await state()).status, { timeout: 15_000, message: 'the page to notice the cut' }).not.toBe('connected')
    await page.evaluate((v) => (window as any).e2eSend(v, 10), all.slice(1))
    await expect
      .poll(() => page.evaluate(() => (window as any).e2ePending()), { timeout: 15_000, message: 'pending() to show every queued record' })
      .toMatchObject({ records: QUEUED })
    const pendingBefore = await page.evaluate(() => (window as any).e2ePending())

    // reload while still cut off: the page's promises are gone, the outbox is not
    await page.reload()
    await waitReady(page)
    const pendingAfterReload = await page.evaluate(() => (window as any).e2ePending())
    expect(pendingAfterReload, 'the reloaded producer knows what its outbox holds').toMatchObject({ records: QUEUED })
    expect((await env.drain(topic)).length, 'nothing reached the broker while cut off').toBe(1)

    await expect.poll(() => env!.proxy.stats.refused, { timeout: 15_000, message: 'the SDK to try to reconnect and be refused' }).toBeGreaterThanOrEqual(1)
    env.proxy.unblock()
    await expect.poll(() => page.evaluate(() => (window as any).e2ePending()), { timeout: 60_000, message: 'the recovered outbox to drain' }).toMatchObject({ batches: 0, records: 0 })
    await expect.poll(async () => (await env!.drain(topic)).length, { timeout: 30_000 }).toBe(QUEUED + 1)
    const after = await state()
    const drained = await env.drain(topic)
    const report = checkHistory({ attempted: all, acked: [{ partition: 0, offset: 0, value: all[0]! }], drained })
    expect(report.ok, describeReport(report)).toBe(true)
    expect(drained.map((r) => r.value)).toEqual(all)
    expect(problems.filter((p) => p.includes('pageerror'))).toEqual([])
    console.log(
      `reload-before-send: ${QUEUED} records queued offline (pending before reload ${JSON.stringify(pendingBefore)}, after reload ${JSON.stringify(pendingAfterReload)}), ` +
        `onRecovered reported ${after.recovered.flat().length} records in ${after.recovered.length} call(s); broker holds ${drained.length} = 1 online + ${drained.length - 1} recovered, each once, in order`,
    )
  } finally {
    await context.close()
    await env?.close()
  }
})
