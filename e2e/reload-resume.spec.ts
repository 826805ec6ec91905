/**
 * A page consumes 2,000 records with exactly-once `process` into its own IndexedDB store and is reloaded twice at
 * random points while records are in flight; afterwards `seen` holds offsets 0..1999 once each, and the append-only
 * `deliveries` log (written in the same transactions) has no duplicate and no gap across the three sessions.
 */
import { expect, test } from '@playwright/test'
import { checkConsumerStream, checkHistory, describeReport } from '../test/support/history-checker.js'
import { pageState, readStore, seededRandom, startEnv, values, waitReady, watchPage, type Env } from './support/harness.js'

const TOTAL = 2_000
const CHUNK = 25
/** The page may lag at most this many records behind the producer, so a reload always lands mid-stream. */
const MAX_LAG = 150

interface Row {
  offset: number
  partition: number
  value: string
  session: string
}

test('reload at random points: every record processed exactly once', async ({ browser }) => {
  const rnd = seededRandom()
  const reloadAt = [rnd.int(100, 800), 0]
  reloadAt[1] = rnd.int(reloadAt[0]! + 300, 1_700)
  console.log(`reload-resume: seed ${rnd.seed} (E2E_SEED replays), reloads once ${reloadAt.join(' and ')} records are processed`)
  let env: Env | null = null
  const context = await browser.newContext()
  try {
    env = await startEnv()
    const topic = 'reload-resume'
    await env.node().admin.createTopic(topic, { partitions: 1 })
    await context.route('**/favicon.ico', (r) => r.fulfill({ status: 204 }))
    await env.serve(context)
    const page = await context.newPage()
    const problems = watchPage(page, 'consumer')
    await page.goto(env.pageUrl('consumer', { topic }))
    await waitReady(page)

    // Highest offset processed so far over every page load (window.__e2e.highest restarts at -1 on each load).
    let maxProcessed = -1
    const highest = async () => (maxProcessed = Math.max(maxProcessed, await page.evaluate(() => (window as any).__e2e?.highest ?? -1).catch(() => -1)))
    const producer = env.node().producer({ acks: 'all' })
    const all = values('n', TOTAL)
    const acked: { partition: number; offset: number; value: string }[] = []
    const reloadsAt: { processedBeforeReload: number; produced: number }[] = []
    let produced = 0
    // The producer keeps going while the page reloads; flow control (not sleeps) keeps the page at most MAX_LAG
    // records behind, so each reload lands while records are in flight.
    const producing = (async () => {
      for (let i = 0; i < TOTAL; i += CHUNK) {
        const chunk = all.slice(i, i + CHUNK)
        const metas = await producer.send(topic, chunk.map((value) => ({ value, partition: 0 })))
        metas.forEach((m, j) => acked.push({ partition: m.partition, offset: m.offset, value: chunk[j]! }))
        produced = i + chunk.length
        await expect.poll(highest, { timeout: 30_000, intervals: [10, 20, 50], message: `the page to process up to ${produced - MAX_LAG}` }).toBeGreaterThanOrEqual(produced - 1 - MAX_LAG)
      }
    })()
    const reloading = (async () => {
      for (const at of reloadAt) {
        if ((await highest()) < at - 1) await page.waitForFunction((n) => ((window as any).__e2e?.highest ?? -1) >= n, at - 1, { polling: 5, timeout: 60_000 })
        const processed = (await highest()) + 1
        reloadsAt.push({ processedBeforeReload: processed, produced })
        await page.reload()
        await waitReady(page)
      }
    })()
    await Promise.all([producing, reloading]).catch(async (e) => {
      throw new Error(`${(e as Error).message}\npage state: ${await pageState(page)}\nproblems: ${problems.join('\n')}`)
    })
    await expect.poll(highest, { timeout: 60_000, message: 'the page to process the last record' }).toBe(TOTAL - 1)
    // `seen` is the durable truth; poll it until complete (the last transaction commits asynchronously).
    await expect.poll(async () => (await readStore<Row>(page, 'app', 'seen')).length, { timeout: 30_000 }).toBe(TOTAL)

    const seen = await readStore<Row>(page, 'app', 'seen')
    const deliveries = await readStore<Row>(page, 'app', 'deliveries')
    const drained = await env.drain(topic)
    const gaps = await page.evaluate(() => (window as any).__e2e.gaps)
    const sessions = [...new Set(deliveries.map((d) => d.session))]

    // broker side: the topic is exactly what Node produced
    const report = checkHistory({ attempted: all, acked, drained })
    expect(report.ok, describeReport(report)).toBe(true)
    expect(drained.map((r) => r.value)).toEqual(all)
    // page side: offsets 0..TOTAL-1 once each, with the values the broker holds
    expect(seen.map((r) => r.offset)).toEqual(Array.from({ length: TOTAL }, (_, i) => i))
    expect(seen.map((r) => r.value)).toEqual(all)
    // the append-only delivery log: no duplicate, no gap, in offset order across every reload
    const dupes = deliveries.length - new Set(deliveries.map((d) => d.offset)).size
    expect(dupes, 'duplicate deliveries').toBe(0)
    expect(checkConsumerStream(deliveries, { 0: 0 })).toEqual([])
    expect(deliveries.length).toBe(TOTAL)
    expect(gaps).toEqual([])
    expect(sessions.length, 'deliveries came from the three page loads').toBeGreaterThanOrEqual(2)
    expect(problems.filter((p) => p.includes('pageerror'))).toEqual([])
    console.log(
      `reload-resume: produced ${all.length}, broker holds ${drained.length}, seen ${seen.length}, deliveries ${deliveries.length} (duplicates ${dupes}) ` +
        `over ${sessions.length} sessions [${sessions.map((s) => deliveries.filter((d) => d.session === s).length).join(', ')}]; ` +
        `reloads at ${JSON.stringify(reloadsAt)}`,
    )
  } finally {
    await context.close()
    await env?.close()
  }
})
