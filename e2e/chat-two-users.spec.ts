/**
 * Two users in two browser contexts chat through one broker: each sees the other's messages, and all of them in
 * one order (the log's). Presence shows both; a closed page drops out of the other's list within seconds, and
 * typing shows in the other's room.
 */
import { expect, test } from '@playwright/test'
import { existsSync, mkdirSync, copyFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startEnv, type Env } from './support/harness.js'
import { deliveries, messages, openChat, pageErrors, screenshot, send, texts, type ChatUser } from './support/chat.js'

test('two users chat: each sees the other, in one order; presence shows both and drops a closed page', async ({ browser }, info) => {
  let env: Env | null = null
  const users: ChatUser[] = []
  try {
    env = await startEnv()
    const ada = await openChat(browser, env.proxy.httpUrl, 'Ada')
    users.push(ada)
    const bob = await openChat(browser, env.proxy.httpUrl, 'Bob')
    users.push(bob)
    for (const u of users) {
      await expect(u.page.getByTestId('online').locator('li[data-name="Ada"]')).toBeVisible()
      await expect(u.page.getByTestId('online').locator('li[data-name="Bob"]')).toBeVisible()
    }

    // Typing shows in the other's view.
    await bob.page.getByRole('textbox', { name: /^Message/ }).pressSequentially('hi')
    await expect(ada.page.getByTestId('typing')).toHaveText('Bob is typing…')
    await bob.page.getByRole('textbox', { name: /^Message/ }).fill('')

    const script: [ChatUser, string][] = [
      [ada, 'Hi Bob, are you there?'],
      [bob, 'Hi Ada! Yes.'],
      [ada, 'This chat runs on Samsa topics.'],
      [bob, 'And it works offline too.'],
      [ada, 'Try cutting the network.'],
    ]
    for (const [u, text] of script) {
      await send(u.page, text)
      // wait for it to be in the log before the next one, so the conversation's order is the send order
      await expect(u.page.locator('li.msg.mine', { hasText: text })).toHaveAttribute('data-delivery', 'sent')
    }
    const expected = script.map(([, t]) => t)
    for (const u of users) await expect.poll(() => texts(u.page)).toEqual(expected)
    // The same order with the same offsets on both sides (the log's order).
    const offsets = (u: ChatUser) => messages(u.page).evaluateAll((lis) => lis.map((li) => `${li.getAttribute('data-offset')}:${li.querySelector('.author')?.textContent}`))
    expect(await offsets(ada)).toEqual(['0:Ada', '1:Bob', '2:Ada', '3:Bob', '4:Ada'])
    expect(await offsets(bob)).toEqual(await offsets(ada))
    expect((await deliveries(bob.page)).map((d) => d.delivery)).toEqual(['sent', 'sent'])
    expect((await env.drain('chat.general')).map((r) => JSON.parse(r.value).text)).toEqual(expected)
    await screenshot(ada.page, info, 'two-users-ada')
    await screenshot(bob.page, info, 'two-users-bob')
    if (process.env['SAMSA_DOCS_SCREENSHOT']) {
      // The README's screenshot: `SAMSA_DOCS_SCREENSHOT=1 npx playwright test e2e/chat-two-users.spec.ts`.
      const docs = fileURLToPath(new URL('../docs/', import.meta.url))
      if (!existsSync(docs)) mkdirSync(docs)
      copyFileSync(info.outputPath('two-users-ada.png'), `${docs}demo.png`)
    }

    // Bob leaves: Ada's list drops him within a few seconds (his page says bye; a vanished page times out).
    await bob.context.close()
    users.pop()
    await expect(ada.page.getByTestId('online').locator('li[data-name="Bob"]')).toHaveCount(0, { timeout: 12_000 })
    await expect(ada.page.getByTestId('online').locator('li')).toHaveCount(1)
    expect(pageErrors([ada, bob])).toEqual([])
  } finally {
    for (const u of users) await u.context.close()
    await env?.close()
  }
})
