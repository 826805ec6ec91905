/**
 * A page produces 500 records while its connection is cut (proxy blocked, open connections cut): they wait in the
 * durable outbox (`pending()` shows them) and nothing reaches the broker; after unblock every record is in the topic
 * exactly once and in send order.
 */
import { expect, test } from '@playwright/test'
import { checkHistory, describeReport } from '../test/support/history-checker.js'
import { startEnv, values, waitReady, watchPage, type Env } from './support/harness.js'

const OFFLINE = 500

test('records produced offline wait in the outbox and are sent exactly once after reconnecting', async ({ browser }) => {
  let env: Env | null = null
  const context = await browser.newContext()
  try {
    env = await startEnv()
    const topic = 'offline-outbox'
    await env.node().admin.createTopic(topic, { partitions: 1 })
    await env.serve(context)
    const page = await context.newPage()
    const problems = watchPage(page, 'producer')
    await page.goto(env.pageUrl('producer', { topic, producer: 'p1' }))
    await waitReady(page)
    const state = () => page.evaluate(() => {
      const s = (window as any).__e2e
      return { invoked: s.invoked.length, acks: s.acks.length, failed: s.failed, status: s.statuses.at(-1)?.status ?? null }
    })

    // one record online first: the producer has its identity and the connection is up
    const all = values('p1', OFFLINE + 1)
    await page.evaluate((v) => (window as any).e2eSend(v), all.slice(0, 1))
    await expect.poll(async () => (await state()).acks, { timeout: 15_000 }).toBe(1)

    env.proxy.block()
    env.proxy.cut()
    await expect.poll(async () => (await state()).status, { timeout: 15_000, message: 'the page to notice the cut' }).not.toBe('connected')
    await page.evaluate((v) => (window as any).e2eSend(v), all.slice(1))
    await expect
      .poll(() => page.evaluate(() => (window as any).e2ePending()), { timeout: 15_000, message: 'pending() to show every offline record' })
      .toMatchObject({ records: OFFLINE })
    const pendingOffline = await page.evaluate(() => (window as any).e2ePending())
    expect((await state()).acks).toBe(1)
    expect((await env.drain(topic)).length, 'nothing reached the broker while cut off').toBe(1)
    await expect.poll(() => env!.proxy.stats.refused, { timeout: 15_000, message: 'the SDK to try to reconnect and be refused' }).toBeGreaterThanOrEqual(1)
    const refusedWhileBlocked = env.proxy.stats.refused

    env.proxy.unblock()
    await expect.poll(async () => (await state()).acks, { timeout: 60_000, message: 'every offline record to be acknowledged' }).toBe(OFFLINE + 1)
    await expect.poll(() => page.evaluate(() => (window as any).e2ePending()), { timeout: 15_000 }).toMatchObject({ batches: 0, records: 0 })

    const s = await page.evaluate(() => (window as any).__e2e)
    const drained = await env.drain(topic)
    const report = checkHistory({ attempted: s.invoked, acked: s.acks, drained })
    expect(report.ok, describeReport(report)).toBe(true)
    expect(s.failed).toEqual([])
    expect(drained.map((r) => r.value)).toEqual(all)
    expect(problems.filter((p) => p.includes('pageerror'))).toEqual([])
    console.log(
      `offline-outbox: ${OFFLINE} records produced offline (pending ${JSON.stringify(pendingOffline)}, ${refusedWhileBlocked} reconnects refused), ` +
        `${s.acks.length} acknowledged, broker holds ${drained.length} (${report.counts.ackedFound} at their acknowledged offsets), in order`,
    )
  } finally {
    await context.close()
    await env?.close()
  }
})
