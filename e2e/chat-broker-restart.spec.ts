/**
 * The broker is killed (kill -9) during a conversation and started again on the same data: both users recover
 * without a refresh, what was written meanwhile is delivered once, in order. A third user's FIRST load happens
 * while the broker is down (the page from the built copy, as a CDN or service worker would serve it): the room
 * list comes from the browser, they can write at once, and their message is sent when the broker is back.
 */
import { expect, test } from '@playwright/test'
import { startEnv, type Env } from './support/harness.js'
import { badge, deliveries, openChat, pageErrors, screenshot, send, texts, type ChatUser } from './support/chat.js'

test('a broker restart mid-conversation is a blip for both users; a first load while it is down can write', async ({ browser }, info) => {
  let env: Env | null = null
  const users: ChatUser[] = []
  try {
    env = await startEnv()
    const ada = await openChat(browser, env.proxy.httpUrl, 'Ada')
    const bob = await openChat(browser, env.proxy.httpUrl, 'Bob')
    users.push(ada, bob)
    await send(ada.page, 'one')
    await send(bob.page, 'two')
    for (const u of users) await expect.poll(() => texts(u.page)).toEqual(['one', 'two'])

    await env.kill9()
    for (const u of users) await expect(badge(u.page)).not.toHaveAttribute('data-state', 'connected')
    await send(ada.page, 'three, while the broker is down')
    await expect.poll(() => deliveries(ada.page)).toEqual([
      { text: 'one', delivery: 'sent', offset: '0' },
      { text: 'three, while the broker is down', delivery: 'pending', offset: null },
    ])

    // First load while the broker is down: the app starts, the name can be picked, and a message written.
    const cara = await openChat(browser, env.proxy.httpUrl, 'Cara')
    users.push(cara)
    await expect(badge(cara.page)).toHaveAttribute('data-state', 'offline')
    await expect(cara.page.locator('nav.rooms button[data-room="general"]')).toBeVisible()
    await send(cara.page, 'four, from a first load offline')
    await expect.poll(() => deliveries(cara.page)).toEqual([{ text: 'four, from a first load offline', delivery: 'pending', offset: null }])
    await screenshot(cara.page, info, 'first-load-offline')

    await env.restart()
    for (const u of users) await expect(badge(u.page)).toHaveAttribute('data-state', 'connected', { timeout: 30_000 })
    const all = ['one', 'two', 'three, while the broker is down', 'four, from a first load offline']
    const expectAll = async () => {
      for (const u of users) await expect.poll(() => texts(u.page), { timeout: 30_000 }).toEqual(all)
    }
    // Ada's and Cara's messages race after the restart; both orders are the log's, so read it first.
    const drained = () => env!.drain('chat.general').then((rs) => rs.map((r) => JSON.parse(r.value).text as string))
    await expect.poll(async () => (await drained()).length, { timeout: 30_000 }).toBe(4)
    const logOrder = await drained()
    expect(logOrder.slice(0, 2)).toEqual(['one', 'two'])
    expect([...logOrder].sort()).toEqual([...all].sort())
    all.splice(0, all.length, ...logOrder)
    await expectAll()
    await expect.poll(() => deliveries(ada.page)).toEqual([
      { text: 'one', delivery: 'sent', offset: '0' },
      { text: 'three, while the broker is down', delivery: 'sent', offset: String(logOrder.indexOf('three, while the broker is down')) },
    ])
    await expect.poll(() => deliveries(cara.page)).toEqual([{ text: 'four, from a first load offline', delivery: 'sent', offset: String(logOrder.indexOf('four, from a first load offline')) }])
    // The conversation goes on without a refresh.
    await send(bob.page, 'five, after the restart')
    all.push('five, after the restart')
    await expectAll()
    await screenshot(bob.page, info, 'after-restart')
    expect(pageErrors(users)).toEqual([])
  } finally {
    for (const u of users) await u.context.close()
    await env?.close()
  }
})
