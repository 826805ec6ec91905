/**
 * History and position across a reload. Opening a room shows its latest page, not the whole log; scrolling up
 * (or the "Load earlier messages" button) loads earlier offsets page by page. Unread counts come from the stored
 * read position against the high watermark. A reload lands on the same room at the same scroll position, with
 * the same unread counts.
 */
import { expect, test, type Page } from '@playwright/test'
import { produceFromNode, readStore, startEnv, type Env } from './support/harness.js'
import { openChat, openRoom, pageErrors, screenshot, texts, unread, type ChatUser } from './support/chat.js'

const chat = (i: number, author = 'Carol') => JSON.stringify({ v: 1, id: `${author}-${i}`, sender: `node-${author}`, author, text: `${author} says ${i}`, at: Date.now() })
const offsets = (page: Page) => page.locator('ol.messages li.msg').evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-offset'))))
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

/** The app's saved setting (IndexedDB database samsa-demo, store settings). */
const setting = (page: Page, key: string) =>
  page.evaluate(
    (k) =>
      new Promise<unknown>((resolve, reject) => {
        const open = indexedDB.open('samsa-demo')
        open.onerror = () => reject(open.error)
        open.onsuccess = () => {
          const req = open.result.transaction('settings').objectStore('settings').get(k)
          req.onsuccess = () => resolve(req.result ?? null)
          req.onerror = () => reject(req.error)
        }
      }),
    key,
  )

test('a reload keeps the history, the unread counts and the position; history loads page by page', async ({ browser }, info) => {
  let env: Env | null = null
  let user: ChatUser | null = null
  try {
    env = await startEnv()
    const admin = env.node().admin
    await admin.createTopic('chat.general', { partitions: 1 })
    await admin.createTopic('chat.random', { partitions: 1 })
    await produceFromNode(env, 'chat.general', range(0, 70).map((i) => chat(i)))

    user = await openChat(browser, env.proxy.httpUrl, 'Ada')
    const { page } = user
    // The latest page only: offsets 40..69.
    await expect.poll(() => offsets(page)).toEqual(range(40, 70))
    await expect(page.getByRole('button', { name: 'Load earlier messages' })).toBeVisible()
    // Scrolling to the top loads the page before it.
    await page.locator('ol.messages').evaluate((el) => (el.scrollTop = 0))
    await expect.poll(() => offsets(page)).toEqual(range(10, 70))
    // The keyboard path: the button loads the rest; then there is nothing earlier.
    await page.getByRole('button', { name: 'Load earlier messages' }).click()
    await expect.poll(() => offsets(page)).toEqual(range(0, 70))
    await expect(page.getByRole('button', { name: 'Load earlier messages' })).toHaveCount(0)

    // Messages arrive in the other room while Ada reads general: its unread count shows.
    await produceFromNode(env, 'chat.random', range(0, 3).map((i) => chat(i, 'Dan')))
    await expect.poll(() => unread(page, 'random'), { timeout: 15_000 }).toBe(3)
    expect(await unread(page, 'general')).toBe(0)

    // Ada scrolls up to read offset 20; the position is saved.
    await page.locator('li.msg[data-offset="20"]').evaluate((el) => el.scrollIntoView({ block: 'start' }))
    await expect.poll(() => setting(page, 'anchor:general')).toBeGreaterThanOrEqual(18)
    await expect.poll(() => setting(page, 'anchor:general')).toBeLessThanOrEqual(20)
    await expect
      .poll(async () => (await readStore<{ consumerId: string; topic: string; offset: number }>(page, 'samsa', 'offsets')).find((r) => r.consumerId === 'chat-read' && r.topic === 'chat.general')?.offset)
      .toBe(70)
    await screenshot(page, info, 'before-reload')

    await page.reload()
    await expect(page.getByRole('heading', { name: '# general' })).toBeVisible()
    await expect(page.locator('li.msg[data-offset="20"]')).toBeInViewport()
    await expect.poll(() => unread(page, 'random'), { timeout: 15_000 }).toBe(3)
    expect(await unread(page, 'general')).toBe(0)
    // Scrolling down reaches the end of the history without a gap.
    await page.locator('ol.messages').evaluate((el) => (el.scrollTop = el.scrollHeight))
    await expect.poll(async () => (await offsets(page)).at(-1)).toBe(69)
    const shown = await offsets(page)
    expect(shown).toEqual(range(shown[0]!, 70))
    await screenshot(page, info, 'after-reload')

    // Reading random clears its count, and that survives a reload too.
    await openRoom(page, 'random')
    await expect.poll(() => texts(page)).toEqual(['Dan says 0', 'Dan says 1', 'Dan says 2'])
    await expect.poll(() => unread(page, 'random')).toBe(0)
    await produceFromNode(env, 'chat.general', range(70, 72).map((i) => chat(i)))
    await expect.poll(() => unread(page, 'general'), { timeout: 15_000 }).toBe(2)
    await expect
      .poll(async () => (await readStore<{ consumerId: string; topic: string; offset: number }>(page, 'samsa', 'offsets')).find((r) => r.consumerId === 'chat-read' && r.topic === 'chat.random')?.offset)
      .toBe(3)
    await page.reload()
    await expect(page.getByRole('heading', { name: '# random' })).toBeVisible()
    await expect.poll(() => texts(page)).toEqual(['Dan says 0', 'Dan says 1', 'Dan says 2'])
    await expect.poll(() => unread(page, 'general'), { timeout: 15_000 }).toBe(2)
    expect(await unread(page, 'random')).toBe(0)
    expect(pageErrors([user])).toEqual([])
  } finally {
    await user?.context.close()
    await env?.close()
  }
})
