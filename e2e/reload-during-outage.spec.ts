/**
 * Extra scenario (reload + kill -9 + outbox): a page is producing with sends in flight when the broker is killed
 * with kill -9; the page is reloaded while the broker is down (its in-memory promises are gone, the IndexedDB outbox
 * is not); the broker restarts on the same data dir. The recovered outbox is resent with its original producer id
 * and sequences, so the broker must deduplicate whatever it had already appended before the kill: every
 * acknowledged record exactly once, nothing doubled, per-producer order kept; then new sends from the reloaded page
 * continue the same sequence without errors.
 */
import { expect, test } from '@playwright/test'
import { checkHistory, describeReport } from '../test/support/history-checker.js'
import { startEnv, values, waitReady, watchPage, type Env } from './support/harness.js'

const TOTAL = 600
const KILL_AT = 200
const AFTER = 100

test('reload while the broker is down: the outbox is resent and deduplicated after the restart', async ({ browser }) => {
  let env: Env | null = null
  const context = await browser.newContext()
  try {
    env = await startEnv()
    const topic = 'reload-during-outage'
    await env.node().admin.createTopic(topic, { partitions: 1 })
    await env.serve(context)
    const page = await context.newPage()
    const problems = watchPage(page, 'producer')
    await page.goto(env.pageUrl('producer', { topic, producer: 'p1', prefix: 'p1' }))
    await waitReady(page)
    await page.evaluate((total) => (window as any).e2eRun({ total, inFlight: 50 }), TOTAL)
    await expect.poll(() => page.evaluate(() => (window as any).__e2e.acks.length), { timeout: 30_000, intervals: [5, 10, 20] }).toBeGreaterThanOrEqual(KILL_AT)
    await env.kill9()
    const before = await page.evaluate(() => {
      const s = (window as any).__e2e
      return { invoked: [...s.invoked] as string[], acks: [...s.acks] as { partition: number; offset: number; value: string }[], pending: (window as any).e2ePending() }
    })
    await page.reload()
    await waitReady(page)
    const pendingAfterReload = await page.evaluate(() => (window as any).e2ePending())
    await env.restart()
    await expect.poll(() => page.evaluate(() => (window as any).e2ePending()), { timeout: 60_000, message: 'the recovered outbox to drain after the restart' }).toMatchObject({ records: 0 })
    // the reloaded page goes on producing with the same identity
    const more = values('after', AFTER)
    await page.evaluate((v) => (window as any).e2eSend(v), more)
    await expect.poll(() => page.evaluate(() => { const s = (window as any).__e2e; return s.acks.length + s.failed.length }), { timeout: 30_000 }).toBe(AFTER)
    const after = await page.evaluate(() => (window as any).__e2e)

    const drained = await env.drain(topic)
    const report = checkHistory({ attempted: [...before.invoked, ...more], acked: [...before.acks, ...after.acks], drained })
    const present = new Set(drained.map((r) => r.value))
    const invokedMissing = before.invoked.filter((v) => !present.has(v))
    console.log(
      `reload-during-outage: before the kill ${before.invoked.length} invoked, ${before.acks.length} acknowledged, pending ${JSON.stringify(before.pending)}; ` +
        `after reload pending ${JSON.stringify(pendingAfterReload)}; broker holds ${drained.length} (${report.counts.ackedFound} acked found, ${report.counts.unackedPresent} unacked present, ` +
        `${invokedMissing.length} invoked-but-never-persisted missing); after the reload ${after.acks.length} acked, ${after.failed.length} failed ${JSON.stringify([...new Set(after.failed.map((f: any) => f.error))])}`,
    )
    expect(report.ok, describeReport(report)).toBe(true)
    expect(after.failed).toEqual([])
    expect(invokedMissing, 'every record that was in the outbox at the reload reached the topic').toEqual([])
    expect(problems.filter((p) => p.includes('pageerror'))).toEqual([])
  } finally {
    await context.close()
    await env?.close()
  }
})

test('acknowledgements lost in flight: appended, never acknowledged, page reloaded, resent — deduplicated by the broker', async ({ browser }) => {
  const N = 100
  let env: Env | null = null
  const context = await browser.newContext()
  try {
    env = await startEnv()
    const topic = 'lost-acks'
    await env.node().admin.createTopic(topic, { partitions: 1 })
    await env.serve(context)
    const page = await context.newPage()
    const problems = watchPage(page, 'producer')
    await page.goto(env.pageUrl('producer', { topic, producer: 'p1' }))
    await waitReady(page)
    const all = values('p1', N + 1)
    await page.evaluate((v) => (window as any).e2eSend(v), all.slice(0, 1))
    await expect.poll(() => page.evaluate(() => (window as any).__e2e.acks.length), { timeout: 15_000 }).toBe(1)

    // The broker appends every batch; its acknowledgements never reach the page.
    env.proxy.dropReplies(true)
    await page.evaluate((v) => (window as any).e2eSend(v, 10), all.slice(1))
    await expect.poll(async () => (await env!.drain(topic)).length, { timeout: 30_000, message: 'the broker to append every batch' }).toBe(N + 1)
    expect(await page.evaluate(() => (window as any).__e2e.acks.length), 'no acknowledgement reached the page').toBe(1)
    const pendingBefore = await page.evaluate(() => (window as any).e2ePending())

    env.proxy.block()
    env.proxy.cut()
    env.proxy.dropReplies(false)
    await page.reload()
    await waitReady(page)
    const pendingAfterReload = await page.evaluate(() => (window as any).e2ePending())
    env.proxy.unblock()
    await expect.poll(() => page.evaluate(() => (window as any).e2ePending()), { timeout: 60_000, message: 'the resent outbox to be acknowledged' }).toMatchObject({ records: 0 })
    // and the producer keeps working with the same identity
    const more = values('after', 20)
    await page.evaluate((v) => (window as any).e2eSend(v), more)
    await expect.poll(() => page.evaluate(() => { const s = (window as any).__e2e; return s.acks.length + s.failed.length }), { timeout: 30_000 }).toBe(more.length)
    const after = await page.evaluate(() => (window as any).__e2e)

    const drained = await env.drain(topic)
    const report = checkHistory({ attempted: [...all, ...more], acked: [{ partition: 0, offset: 0, value: all[0]! }, ...after.acks], drained })
    console.log(
      `lost-acks: ${N} records appended with their acks dropped (pending ${JSON.stringify(pendingBefore)}, after reload ${JSON.stringify(pendingAfterReload)}, ${env.proxy.droppedBytes} reply bytes dropped); ` +
        `after resend the broker holds ${drained.length} (expected ${N + 1 + more.length}); ${after.failed.length} later sends failed ${JSON.stringify([...new Set(after.failed.map((f: any) => f.error))])}`,
    )
    expect(report.ok, describeReport(report)).toBe(true)
    expect(drained.map((r) => r.value)).toEqual([...all, ...more])
    expect(after.failed).toEqual([])
    expect(problems.filter((p) => p.includes('pageerror'))).toEqual([])
  } finally {
    await context.close()
    await env?.close()
  }
})
