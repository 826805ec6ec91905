/**
 * Shared room notes (a Y.Text over the Samsa Yjs provider): two users type at the same time, then one of them is
 * cut off and both keep editing; when the connection is back both end with the same text holding every edit.
 * Undo takes back only the user's own edit.
 */
import { expect, test, type Page } from '@playwright/test'
import { startTcpProxy, type TcpProxy } from '../test/support/tcp-proxy.js'
import { startEnv, type Env } from './support/harness.js'
import { badge, openChat, pageErrors, screenshot, type ChatUser } from './support/chat.js'

const notes = (page: Page) => page.getByRole('textbox', { name: /^Shared notes of/ })
const state = (page: Page) => page.getByTestId('notes-state')

async function typeAt(page: Page, where: 'start' | 'end', text: string): Promise<void> {
  const box = notes(page)
  await box.focus()
  await box.press(where === 'start' ? 'Control+Home' : 'Control+End')
  await box.pressSequentially(text, { delay: 5 })
}
const typeAtEnd = (page: Page, text: string) => typeAt(page, 'end', text)

test('two users edit the room notes at once, one of them offline, and end with the same text', async ({ browser }, info) => {
  let env: Env | null = null
  let bobProxy: TcpProxy | null = null
  const users: ChatUser[] = []
  try {
    env = await startEnv()
    bobProxy = await startTcpProxy({ targetPort: env.broker.port })
    const ada = await openChat(browser, env.proxy.httpUrl, 'Ada')
    const bob = await openChat(browser, bobProxy.httpUrl, 'Bob')
    users.push(ada, bob)
    for (const u of users) await expect(state(u.page)).toHaveAttribute('data-synced', 'true', { timeout: 20_000 })

    await typeAtEnd(ada.page, '[notes] ')
    await expect(notes(bob.page)).toHaveValue('[notes] ')
    // At the same time: Ada writes before what is there, Bob after it (typing at one same spot would interleave
    // the two users' characters, which is what a text CRDT does with truly simultaneous keystrokes there).
    await Promise.all([typeAt(ada.page, 'start', 'Agenda from Ada. '), typeAt(bob.page, 'end', 'Bob adds a point. ')])
    for (const u of users) await expect(notes(u.page)).toHaveValue('Agenda from Ada. [notes] Bob adds a point. ')
    await expect.poll(async () => (await notes(bob.page).inputValue()) === (await notes(ada.page).inputValue())).toBe(true)

    // Bob is cut off; both keep editing.
    bobProxy.block()
    bobProxy.cut()
    await expect(badge(bob.page)).not.toHaveAttribute('data-state', 'connected')
    await Promise.all([typeAtEnd(ada.page, 'Ada, online. '), typeAtEnd(bob.page, 'Bob, offline. ')])
    await expect(state(bob.page)).not.toHaveAttribute('data-unsynced', '0')
    await expect(notes(ada.page)).not.toHaveValue(/Bob, offline/)
    await screenshot(bob.page, info, 'notes-offline')

    bobProxy.unblock()
    await expect(badge(bob.page)).toHaveAttribute('data-state', 'connected', { timeout: 20_000 })
    for (const u of users) await expect(notes(u.page)).toHaveValue(/Bob, offline\. /, { timeout: 20_000 })
    for (const u of users) await expect(notes(u.page)).toHaveValue(/Ada, online\. /, { timeout: 20_000 })
    await expect(state(bob.page)).toHaveAttribute('data-unsynced', '0', { timeout: 20_000 })
    await expect.poll(async () => (await notes(bob.page).inputValue()) === (await notes(ada.page).inputValue())).toBe(true)

    // Undo takes back Ada's own last edit only; Bob's text stays, on both sides.
    await ada.page.getByRole('button', { name: 'Undo my edit' }).click()
    for (const u of users) await expect(notes(u.page)).not.toHaveValue(/Ada, online/)
    for (const u of users) await expect(notes(u.page)).toHaveValue(/Bob, offline\. /)
    await expect.poll(async () => (await notes(bob.page).inputValue()) === (await notes(ada.page).inputValue())).toBe(true)
    await screenshot(ada.page, info, 'notes-converged')
    expect(pageErrors(users)).toEqual([])
  } finally {
    for (const u of users) await u.context.close()
    await bobProxy?.close()
    await env?.close()
  }
})
