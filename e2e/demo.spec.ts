/**
 * The demo app at /: a user picks a display name, a message typed into it is produced through the SDK, shown as
 * sent with its offset, kept on the broker, and still shown (read back from the log) after a reload, with the
 * display name kept in IndexedDB.
 */
import { expect, test } from '@playwright/test'
import { startEnv, type Env } from './support/harness.js'
import { badge, deliveries, openChat, pageErrors, screenshot, send, texts, type ChatUser } from './support/chat.js'

test('the demo app sends a typed message, shows it sent with its offset, and shows it again after a reload', async ({ browser }, info) => {
  let env: Env | null = null
  let user: ChatUser | null = null
  try {
    env = await startEnv()
    user = await openChat(browser, env.proxy.httpUrl, 'Ada')
    const { page } = user
    await expect(badge(page)).toHaveAttribute('data-state', 'connected')
    for (const text of ['hello', 'from the demo']) await send(page, text)
    await expect.poll(() => deliveries(page)).toEqual([
      { text: 'hello', delivery: 'sent', offset: '0' },
      { text: 'from the demo', delivery: 'sent', offset: '1' },
    ])
    await expect(page.locator('li.msg.mine .delivery').last()).toHaveText('sent · #1')
    expect((await env.drain('chat.general')).map((r) => JSON.parse(r.value).text)).toEqual(['hello', 'from the demo'])
    await page.reload()
    await expect(page.getByRole('button', { name: /Display name: Ada/ })).toBeVisible()
    await expect.poll(() => texts(page)).toEqual(['hello', 'from the demo'])
    // The room is labelled for screen readers: a log region named after the room, and a labelled message box.
    await expect(page.getByRole('log', { name: 'Messages in general' })).toBeVisible()
    await expect(page.getByRole('textbox', { name: 'Message # general' })).toBeEditable()
    await expect(page.getByRole('status')).toContainText('connected')
    await screenshot(page, info, 'demo')
    // A narrow screen: one column, nothing wider than the screen, the composer usable.
    await page.setViewportSize({ width: 390, height: 800 })
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await expect(page.getByRole('navigation', { name: 'Rooms' })).toBeVisible()
    await send(page, 'from a phone')
    await expect(page.locator('li.msg.mine').last()).toHaveAttribute('data-delivery', 'sent')
    await screenshot(page, info, 'demo-narrow')
    expect(pageErrors([user])).toEqual([])
  } finally {
    await user?.context.close()
    await env?.close()
  }
})
