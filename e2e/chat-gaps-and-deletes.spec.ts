/**
 * What the chat must never hide: a room deleted on the broker while open (banner, marked in the list, writing
 * refused with a reason), and a gap — records a cut-off reader had not read yet that retention removed meanwhile —
 * shown inline where the messages are missing.
 */
import { expect, test } from '@playwright/test'
import { startTcpProxy, type TcpProxy } from '../test/support/tcp-proxy.js'
import { produceFromNode, startEnv, type Env } from './support/harness.js'
import { badge, openChat, pageErrors, screenshot, send, type ChatUser } from './support/chat.js'

const chat = (i: number) => JSON.stringify({ v: 1, id: `carol-${i}`, sender: 'node-carol', author: 'Carol', text: `Carol says ${i} ${'.'.repeat(120)}`, at: Date.now() })

test('a room deleted while open is shown as deleted, not silently frozen', async ({ browser }, info) => {
  let env: Env | null = null
  let user: ChatUser | null = null
  try {
    env = await startEnv()
    user = await openChat(browser, env.proxy.httpUrl, 'Ada')
    await send(user.page, 'soon gone')
    // A failed send says why in a notice: the poll reports it instead of only "failed".
    const page = user.page
    await expect
      .poll(async () => {
        const delivery = await page.locator('li.msg.mine').getAttribute('data-delivery')
        return delivery === 'failed' ? `failed: ${(await page.locator('section.notices p.notice').allTextContents()).join(' | ')}` : delivery
      }, { timeout: 15_000 })
      .toBe('sent')
    await env.node().admin.deleteTopic('chat.general')
    await expect(user.page.getByTestId('room-deleted')).toContainText('Room general was deleted')
    await expect(user.page.locator('nav.rooms button[data-room="general"] .tag')).toHaveText('deleted')
    await expect(user.page.getByRole('textbox', { name: /^Message/ })).toBeDisabled()
    await screenshot(user.page, info, 'room-deleted')
    // Created again, it is an empty room one can write in.
    await user.page.getByRole('button', { name: 'Create it again' }).click()
    await expect(user.page.getByTestId('room-deleted')).toHaveCount(0)
    await send(user.page, 'back again')
    await expect(user.page.locator('li.msg.mine')).toHaveAttribute('data-offset', '0')
    expect(pageErrors([user])).toEqual([])
  } finally {
    await user?.context.close()
    await env?.close()
  }
})

test('records removed by retention while a reader was cut off show as a gap in the room', async ({ browser }, info) => {
  let env: Env | null = null
  let proxy: TcpProxy | null = null
  let user: ChatUser | null = null
  try {
    env = await startEnv(['--segment-bytes', '2048', '--retention-bytes', '6144', '--retention-check-interval-ms', '200'])
    await env.node().admin.createTopic('chat.general', { partitions: 1 })
    await produceFromNode(env, 'chat.general', [chat(0)])
    proxy = await startTcpProxy({ targetPort: env.broker.port })
    user = await openChat(browser, proxy.httpUrl, 'Bob')
    await expect(user.page.locator('li.msg[data-offset="0"]')).toBeVisible()
    proxy.block()
    proxy.cut()
    await expect(badge(user.page)).not.toHaveAttribute('data-state', 'connected')
    await produceFromNode(env, 'chat.general', Array.from({ length: 150 }, (_, i) => chat(i + 1)), 5)
    await expect.poll(async () => (await env!.node().admin.listOffsets('chat.general', 0, 'earliest')).offset, { timeout: 15_000 }).toBeGreaterThan(1)
    proxy.unblock()
    const gap = user.page.locator('li.gap')
    await expect(gap).toBeVisible({ timeout: 20_000 })
    await expect(gap).toContainText('no longer available (expired by retention)')
    // (Other warnings may show beside it: presence is unavailable while the reader is cut off, and says it retries.)
    await expect(user.page.locator('.notice-warning', { hasText: 'no longer available (retention)' })).toBeVisible()
    // Delivery continues after the gap up to the last record.
    await expect(user.page.locator('li.msg[data-offset="150"]')).toBeAttached({ timeout: 20_000 })
    await screenshot(user.page, info, 'gap')
    expect(pageErrors([user])).toEqual([])
  } finally {
    await user?.context.close()
    await proxy?.close()
    await env?.close()
  }
})
