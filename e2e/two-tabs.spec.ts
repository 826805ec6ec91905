/**
 * Two pages of one origin (same browser context, so the same IndexedDB) produce to the same topic at the same time
 * with the same producer id name: neither loses nor doubles a record, and each tab's records keep their order.
 */
import { expect, test } from '@playwright/test'
import { checkHistory, describeReport } from '../test/support/history-checker.js'
import { startEnv, waitReady, watchPage, type Env } from './support/harness.js'

const PER_TAB = 500
/** Neither tab invokes its record n before the other has settled n - LEAD (the page's `leadAtMost`). */
const LEAD = 40
/**
 * A lower bound on switches between tabA and tabB records along the log, from LEAD alone (no timing). Each tab's
 * records are in the log in its send order (asserted below) and acknowledged means appended. Take a run of tabA
 * records at tabA-ranks i..k with no tabB record between. tabA invoked record k after tabB had ≥ k - LEAD
 * acknowledged, so ≥ k - LEAD tabB records precede the run's end; a tabB record b before the run's start was invoked
 * after tabA had ≥ b - LEAD acknowledged, all before rank i, so b ≤ i - 1 + LEAD. No tabB record lies inside the run:
 * k - LEAD ≤ i - 1 + LEAD, a run holds at most 2·LEAD records. 2·PER_TAB records in runs of ≤ 2·LEAD make at least
 * PER_TAB / LEAD runs, and one switch fewer than runs.
 */
const MIN_SWITCHES = Math.ceil(PER_TAB / LEAD) - 1

test('two tabs with the same producer id: every record exactly once', async ({ browser }) => {
  let env: Env | null = null
  const context = await browser.newContext()
  try {
    env = await startEnv()
    const topic = 'two-tabs'
    await env.node().admin.createTopic(topic, { partitions: 1 })
    await env.serve(context)
    const tabs = await Promise.all(['tabA', 'tabB'].map(async (prefix) => {
      const page = await context.newPage()
      const problems = watchPage(page, prefix)
      await page.goto(env!.pageUrl('producer', { topic, producer: 'p1', prefix }))
      await waitReady(page)
      return { prefix, page, problems }
    }))
    // Both loads run at once with up to 20 sends in flight each; neither gets more than LEAD records ahead of the other.
    await Promise.all(tabs.map((t) => t.page.evaluate(([total, lead]) => (window as any).e2eRun({ total, inFlight: 20, leadAtMost: lead }), [PER_TAB, LEAD] as const)))
    const settled = async (t: (typeof tabs)[number]) => t.page.evaluate(() => { const s = (window as any).__e2e; return s.acks.length + s.failed.length })
    for (const t of tabs) await expect.poll(() => settled(t), { timeout: 90_000, message: `${t.prefix}: every send to settle` }).toBe(PER_TAB)

    const states = await Promise.all(tabs.map((t) => t.page.evaluate(() => (window as any).__e2e)))
    const drained = await env.drain(topic)
    const report = checkHistory({ attempted: states.flatMap((s) => s.invoked), acked: states.flatMap((s) => s.acks), drained })
    const counts = tabs.map((t, i) => `${t.prefix}: ${states[i].acks.length} acked, ${states[i].failed.length} failed (${[...new Set(states[i].failed.map((f: any) => f.error))].join('; ')})`)
    // how concurrent the two tabs really were: switches between tabA and tabB records along the log
    const switches = drained.filter((r, i) => i > 0 && r.value.slice(0, 4) !== drained[i - 1]!.value.slice(0, 4)).length
    console.log(`two-tabs: ${counts.join(' | ')}; broker holds ${drained.length}, ${switches} switches between the tabs along the log (${JSON.stringify(report.counts)})`)
    expect(report.ok, describeReport(report)).toBe(true)
    for (const s of states) expect(s.failed, 'no send failed').toEqual([])
    expect(drained.length, 'every record of both tabs, once').toBe(2 * PER_TAB)
    expect(switches, `the tabs' records interleave along the log (at least ${MIN_SWITCHES} switches for a lead of at most ${LEAD})`).toBeGreaterThanOrEqual(MIN_SWITCHES)
    for (const t of tabs) {
      const mine = drained.filter((r) => r.value.startsWith(`${t.prefix}-`)).map((r) => r.value)
      expect(mine.length).toBe(PER_TAB)
      expect(mine, `${t.prefix} in send order`).toEqual([...mine].sort())
      expect(t.problems.filter((p) => p.includes('pageerror'))).toEqual([])
    }
  } finally {
    await context.close()
    await env?.close()
  }
})
