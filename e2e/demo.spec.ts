/**
 * The demo page at /: a message typed into it is produced through the SDK bundle, shown from the live
 * subscription, kept on the broker, and still shown (replayed from the log) after a reload.
 */
import { expect, test } from '@playwright/test'
import { startEnv, watchPage, type Env } from './support/harness.js'

test('the demo page sends a typed message, shows it live, and replays it after a reload', async ({ browser }) => {
  let env: Env | null = null
  const context = await browser.newContext()
  try {
    env = await startEnv()
    const page = await context.newPage()
    const problems = watchPage(page, 'demo')
    await page.goto(`${env.proxy.httpUrl}/`)
    await expect(page.locator('#text')).toBeEnabled()
    await expect(page.locator('#status')).toHaveText('connected')
    for (const text of ['hello', 'from the demo']) {
      await page.fill('#text', text)
      await page.press('#text', 'Enter')
    }
    await expect(page.locator('#log li')).toHaveCount(2)
    await expect(page.locator('#log li').first()).toContainText('#1')
    await expect(page.locator('#log li').first()).toContainText('from the demo')
    expect((await env.drain('demo')).map((r) => r.value)).toEqual(['hello', 'from the demo'])
    await page.reload()
    await expect(page.locator('#log li')).toHaveCount(2)
    await expect(page.locator('#log li').last()).toContainText('hello')
    expect(problems.filter((p) => p.includes('pageerror'))).toEqual([])
  } finally {
    await context.close()
    await env?.close()
  }
})
