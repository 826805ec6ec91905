/**
 * @module Driving the demo chat app (apps/demo, served by the broker at /) from Playwright: open it as a user
 * through a proxy origin, send messages, read the message list, the room list and the connection badge. Every
 * wait is a locator assertion or expect.poll, never a sleep.
 */
import { expect, type Browser, type BrowserContext, type Page, type TestInfo } from '@playwright/test'
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { watchPage } from './harness.js'

/** The built app (npm run build), served as the stand-in when the broker is down (what a CDN or service worker would do). */
export const DEMO_DIST = fileURLToPath(new URL('../../packages/server/demo/', import.meta.url))

export interface ChatUser {
  readonly name: string
  readonly context: BrowserContext
  readonly page: Page
  readonly problems: string[]
}

export function assertDemoBuilt(): void {
  if (!existsSync(join(DEMO_DIST, 'index.html'))) throw new Error(`${DEMO_DIST}index.html is missing: run \`npm run build\` in the repository root first`)
}

/**
 * A new browser context for `origin` (http://127.0.0.1:PORT of a proxy): the permission Chromium's Local Network
 * Access checks want, and the app's files from the build when the broker cannot serve them.
 */
export async function chatContext(browser: Browser, origin: string, opts: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  assertDemoBuilt()
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1100, height: 720 } })
  await context.grantPermissions(['local-network-access'], { origin })
  const host = new URL(origin).host
  await context.route(
    (url) => url.host === host && (url.pathname === '/' || url.pathname.startsWith('/app/')),
    async (route) => {
      try {
        const response = await route.fetch({ timeout: 5_000 })
        if (response.ok()) return await route.fulfill({ response })
      } catch {
        // the broker is down: the built copy stands in
      }
      const path = new URL(route.request().url()).pathname
      const file = path === '/' ? 'index.html' : path.slice(1)
      if (!/^(index\.html|app\/[\w.-]+)$/.test(file) || !existsSync(join(DEMO_DIST, file))) return route.fulfill({ status: 404, body: 'not found' })
      const type = file.endsWith('.html') ? 'text/html; charset=utf-8' : file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8'
      return route.fulfill({ contentType: type, body: readFileSync(join(DEMO_DIST, file)) })
    },
  )
  return context
}

/** Opens the app at `origin` in a new context and picks the display name. */
export async function openChat(browser: Browser, origin: string, name: string, opts: { viewport?: { width: number; height: number } } = {}): Promise<ChatUser> {
  const context = await chatContext(browser, origin, opts)
  const page = await context.newPage()
  const problems = watchPage(page, name)
  await page.goto(`${origin}/`)
  await page.getByRole('textbox', { name: 'Display name' }).fill(name)
  await page.getByRole('button', { name: 'Save' }).click()
  await expect(page.getByRole('button', { name: new RegExp(`Display name: ${name}`) })).toBeVisible()
  return { name, context, page, problems }
}

export const messages = (page: Page) => page.locator('ol.messages li.msg')
export const badge = (page: Page) => page.getByTestId('connection')

/** Types a message into the composer and presses Enter. */
export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: /^Message/ })
  await box.fill(text)
  await box.press('Enter')
  await expect(box).toHaveValue('')
}

/** The texts of the message list, top to bottom. */
export function texts(page: Page): Promise<string[]> {
  return page.locator('ol.messages li.msg .text').allTextContents()
}

/** Each own message's delivery state by text. */
export async function deliveries(page: Page): Promise<{ text: string; delivery: string | null; offset: string | null }[]> {
  return page.locator('ol.messages li.msg.mine').evaluateAll((lis) =>
    lis.map((li) => ({ text: li.querySelector('.text')?.textContent ?? '', delivery: li.getAttribute('data-delivery'), offset: li.getAttribute('data-offset') })),
  )
}

export async function openRoom(page: Page, room: string): Promise<void> {
  await page.locator(`nav.rooms button[data-room="${room}"]`).click()
  await expect(page.getByRole('heading', { name: `# ${room}` })).toBeVisible()
}

export async function addRoom(page: Page, room: string): Promise<void> {
  await page.getByLabel('New room').fill(room)
  await page.getByRole('button', { name: 'Add' }).click()
  await expect(page.getByRole('heading', { name: `# ${room}` })).toBeVisible()
}

/** The unread count shown for a room (0 when no count is shown). */
export async function unread(page: Page, room: string): Promise<number> {
  const el = page.locator(`nav.rooms button[data-room="${room}"] .unread`)
  return (await el.count()) === 0 ? 0 : Number(await el.getAttribute('data-unread'))
}

/** Saves a screenshot of the page as a test artifact (test-results/…). */
export async function screenshot(page: Page, info: TestInfo, name: string): Promise<void> {
  const path = info.outputPath(`${name}.png`)
  await page.screenshot({ path })
  await info.attach(name, { path, contentType: 'image/png' })
}

export function pageErrors(users: readonly ChatUser[]): string[] {
  return users.flatMap((u) => u.problems.filter((p) => p.includes('pageerror')))
}
