/**
 * kill -9 the broker while a page is subscribed and producing, restart it on the same data dir (new port, the proxy
 * follows), and let the page reconnect by itself: every send the page saw acknowledged is in the topic exactly once
 * (history checker), and the page's consumed sequence has no gap and no duplicate.
 */
import { expect, test } from '@playwright/test'
import { checkConsumerStream, checkHistory, describeReport } from '../test/support/history-checker.js'
import { startEnv, waitReady, watchPage, type Env } from './support/harness.js'

const TOTAL = 1_500
const KILLS_AT = [300, 900]

test('kill -9 and restart of the broker: nothing acknowledged lost or doubled, consumption without gap or duplicate', async ({ browser }) => {
  let env: Env | null = null
  const context = await browser.newContext()
  try {
    env = await startEnv()
    const topic = 'broker-kill'
    await env.node().admin.createTopic(topic, { partitions: 1 })
    await env.serve(context)
    const page = await context.newPage()
    const problems = watchPage(page, 'producer')
    await page.goto(env.pageUrl('producer', { topic, producer: 'p1', prefix: 'p1', consume: 1 }))
    await waitReady(page)
    const state = () =>
      page.evaluate(() => {
        const s = (window as any).__e2e
        return { invoked: s.invoked.length, acks: s.acks.length, failed: s.failed.length, consumed: s.consumed.length, status: s.statuses.at(-1)?.status ?? null }
      })
    await page.evaluate((total) => (window as any).e2eRun({ total, inFlight: 20 }), TOTAL)

    const kills: { ackedBefore: number; consumedBefore: number; downMs: number }[] = []
    for (const at of KILLS_AT) {
      await expect.poll(async () => (await state()).acks, { timeout: 60_000, intervals: [10, 20, 50], message: `${at} acknowledgements before the kill` }).toBeGreaterThanOrEqual(at)
      const before = await state()
      const t0 = Date.now()
      await env.kill9()
      await expect.poll(async () => (await state()).status, { timeout: 15_000, message: 'the page to notice the dead broker' }).not.toBe('connected')
      await env.restart()
      kills.push({ ackedBefore: before.acks, consumedBefore: before.consumed, downMs: Date.now() - t0 })
      await expect.poll(async () => (await state()).status, { timeout: 30_000, message: 'the page to reconnect by itself' }).toBe('connected')
    }
    await expect.poll(async () => { const s = await state(); return s.acks + s.failed }, { timeout: 90_000, message: 'every send to settle' }).toBe(TOTAL)
    await expect.poll(async () => (await state()).consumed, { timeout: 60_000, message: 'the page to consume every record' }).toBeGreaterThanOrEqual(TOTAL)

    const s = await page.evaluate(() => (window as any).__e2e)
    const drained = await env.drain(topic)
    const report = checkHistory({ attempted: s.invoked, acked: s.acks, drained, failed: [] })
    expect(report.ok, describeReport(report)).toBe(true)
    expect(s.failed, 'sends that failed (the SDK should retry across a broker restart)').toEqual([])
    expect(drained.length).toBe(TOTAL)
    // the page's consumed sequence: contiguous from 0, no duplicate, the broker's values at the broker's offsets
    expect(checkConsumerStream(s.consumed, { 0: 0 })).toEqual([])
    expect(s.consumed.map((r: any) => `${r.offset}:${r.value}`)).toEqual(drained.map((r) => `${r.offset}:${r.value}`))
    expect(s.consumerErrors).toEqual([])
    expect(problems.filter((p) => p.includes('pageerror'))).toEqual([])
    console.log(
      `broker-kill: ${s.invoked.length} sends, ${s.acks.length} acknowledged, ${s.failed.length} failed; broker holds ${drained.length} ` +
        `(acked found ${report.counts.ackedFound}, unacked present ${report.counts.unackedPresent}); page consumed ${s.consumed.length}; kills ${JSON.stringify(kills)}`,
    )
  } finally {
    await context.close()
    await env?.close()
  }
})
