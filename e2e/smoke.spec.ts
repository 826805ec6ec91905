/**
 * Infrastructure smoke test: the demo and the SDK bundle load through the proxy, a page produces and consumes over
 * the proxied WebSocket, and a proxy cut makes the SDK reconnect by itself.
 */
import { expect, test } from '@playwright/test'
import { startEnv, watchPage, type Env } from './support/harness.js'

test('the demo and the SDK load through the proxy; a cut connection comes back by itself', async ({ browser }) => {
  let env: Env | null = null
  const context = await browser.newContext()
  try {
    env = await startEnv()
    await env.node().admin.createTopic('smoke', { partitions: 1 })
    const page = await context.newPage()
    const problems = watchPage(page, 'smoke')
    const response = await page.goto(`${env.proxy.httpUrl}/`)
    expect(response?.status()).toBe(200)
    const produced = await page.evaluate(async (url) => {
      const { createClient } = await import('/sdk/samsa.js' as string)
      const client = createClient({ brokers: [url], clientId: 'smoke' })
      ;(window as any).__smoke = { client, statuses: [] as string[] }
      client.onStatus((c: any) => (window as any).__smoke.statuses.push(c?.current?.status ?? String(c)))
      const [meta] = await client.producer({ acks: 'all' }).send('smoke', [{ value: 'before-cut', partition: 0 }])
      return meta
    }, env.proxy.wsUrl)
    expect(produced).toMatchObject({ topic: 'smoke', partition: 0, offset: 0 })
    expect(env.proxy.cut()).toBeGreaterThan(0)
    const after = await page.evaluate(async () => {
      const { client } = (window as any).__smoke
      const [meta] = await client.producer({ acks: 'all' }).send('smoke', [{ value: 'after-cut', partition: 0 }])
      return meta
    })
    expect(after).toMatchObject({ partition: 0, offset: 1 })
    const read = await env.drain('smoke')
    expect(read.map((r) => r.value)).toEqual(['before-cut', 'after-cut'])
    console.log(`smoke: ${read.length} records; proxy ${JSON.stringify(env.proxy.stats)}; statuses ${JSON.stringify(await page.evaluate(() => (window as any).__smoke.statuses))}`)
    expect(problems.filter((p) => p.includes('pageerror'))).toEqual([])
  } finally {
    await context.close()
    await env?.close()
  }
})
