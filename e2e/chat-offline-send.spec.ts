/**
 * One user's connection is cut (their own proxy blocks and cuts it, the other user's stays up): they send five
 * messages, shown as pending with the outbox count in the badge, and they stay pending across a reload while
 * still cut off. When the connection returns, the other user receives each exactly once, in order, and the
 * sender's messages turn to sent with their offsets.
 */
import { expect, test } from '@playwright/test'
import { startTcpProxy, type TcpProxy } from '../test/support/tcp-proxy.js'
import { startEnv, type Env } from './support/harness.js'
import { badge, deliveries, openChat, pageErrors, screenshot, send, texts, type ChatUser } from './support/chat.js'

test('messages sent while cut off are pending (across a reload), then delivered exactly once, in order', async ({ browser }, info) => {
  let env: Env | null = null
  let bobProxy: TcpProxy | null = null
  const users: ChatUser[] = []
  try {
    env = await startEnv()
    // Bob reaches the broker through his own proxy, so only his connection is cut.
    bobProxy = await startTcpProxy({ targetPort: env.broker.port })
    const ada = await openChat(browser, env.proxy.httpUrl, 'Ada')
    users.push(ada)
    const bob = await openChat(browser, bobProxy.httpUrl, 'Bob')
    users.push(bob)
    await send(bob.page, 'before the cut')
    await expect(ada.page.locator('li.msg', { hasText: 'before the cut' })).toBeVisible()

    bobProxy.block()
    bobProxy.cut()
    await expect(badge(bob.page)).not.toHaveAttribute('data-state', 'connected')
    const offline = Array.from({ length: 5 }, (_, i) => `offline ${i + 1}`)
    for (const text of offline) await send(bob.page, text)
    await expect.poll(() => deliveries(bob.page)).toEqual([
      { text: 'before the cut', delivery: 'sent', offset: '0' },
      ...offline.map((text) => ({ text, delivery: 'pending', offset: null })),
    ])
    await expect(badge(bob.page).locator('.outbox')).toHaveAttribute('data-outbox', '5')
    await screenshot(bob.page, info, 'offline-pending')

    // A reload while still cut off: the page comes from the built copy, the messages are still pending.
    await bob.page.reload()
    await expect.poll(() => deliveries(bob.page)).toEqual(offline.map((text) => ({ text, delivery: 'pending', offset: null })))
    await expect(badge(bob.page)).toHaveAttribute('data-state', 'offline')
    await expect(bob.page.locator('nav.rooms button[data-room="general"]')).toBeVisible()
    expect((await env.drain('chat.general')).length, 'nothing reached the broker while Bob was cut off').toBe(1)

    bobProxy.unblock()
    await expect(badge(bob.page)).toHaveAttribute('data-state', 'connected', { timeout: 20_000 })
    await expect.poll(() => texts(ada.page), { timeout: 20_000 }).toEqual(['before the cut', ...offline])
    await expect
      .poll(() => deliveries(bob.page), { timeout: 20_000 })
      .toEqual([{ text: 'before the cut', delivery: 'sent', offset: '0' }, ...offline.map((text, i) => ({ text, delivery: 'sent', offset: String(i + 1) }))])
    await expect(badge(bob.page).locator('.outbox')).toHaveCount(0)
    // Exactly once on the broker, in order.
    expect((await env.drain('chat.general')).map((r) => JSON.parse(r.value).text)).toEqual(['before the cut', ...offline])
    await screenshot(ada.page, info, 'offline-received')
    await screenshot(bob.page, info, 'offline-sent')
    expect(pageErrors(users)).toEqual([])
  } finally {
    for (const u of users) await u.context.close()
    await bobProxy?.close()
    await env?.close()
  }
})
