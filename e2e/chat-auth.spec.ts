/**
 * The demo with authentication on: a broker with an HS256 secret (so authorization is on, default deny) and tokens
 * from `samsa token create` granting the demo's topics. A page opened with `#token=…` keeps the token in
 * sessionStorage (and drops it from the address bar), connects, and chats with a second signed-in context; a page
 * without a token, and one with a token the broker does not accept, show the sign-in panel with the broker's reason.
 */
import { expect, test, type Browser } from '@playwright/test'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { killAll, runCli, startChildBroker } from '../test/support/child-broker.js'
import { watchPage } from './support/harness.js'
import { chatContext, pageErrors, screenshot, send, texts, type ChatUser } from './support/chat.js'

/** The demo's topics: rooms `chat.<room>`, presence `chat-presence`, room notes `notes.<room>`. */
const DEMO_TOPICS = 'chat.*,chat-presence,notes.*'

async function token(secretFile: string, sub: string): Promise<string> {
  const r = await runCli(['token', 'create', '--secret-file', secretFile, '--sub', sub, '--read', DEMO_TOPICS, '--write', DEMO_TOPICS, '--create', DEMO_TOPICS, '--ttl', '1h'])
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return r.stdout.trim()
}

/** Opens the demo at `origin` with `fragment` (e.g. `#token=…`) in a new context, before any display name is picked. */
async function openDemo(browser: Browser, origin: string, name: string, fragment: string): Promise<ChatUser> {
  const context = await chatContext(browser, origin)
  const page = await context.newPage()
  const problems = watchPage(page, name)
  await page.goto(`${origin}/${fragment}`)
  return { name, context, page, problems }
}

async function pickName(user: ChatUser): Promise<void> {
  await user.page.getByRole('textbox', { name: 'Display name' }).fill(user.name)
  await user.page.getByRole('button', { name: 'Save' }).click()
  await expect(user.page.getByRole('button', { name: new RegExp(`Display name: ${user.name}`) })).toBeVisible()
}

test('the demo runs with tokens when authentication is on; no token or a bad one shows the sign-in panel', async ({ browser }, info) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'samsa-e2e-auth-'))
  const users: ChatUser[] = []
  try {
    const secretFile = join(dataDir, 'secret.txt')
    await writeFile(secretFile, randomBytes(32).toString('base64'))
    const broker = await startChildBroker(join(dataDir, 'data'), ['--auth-hs256-secret-file', secretFile])

    const ada = await openDemo(browser, broker.httpUrl, 'Ada', `#token=${await token(secretFile, 'ada')}`)
    users.push(ada)
    await pickName(ada)
    // The token left the address bar for this tab's sessionStorage.
    expect(new URL(ada.page.url()).hash).toBe('')
    expect(await ada.page.evaluate(() => sessionStorage.getItem('samsa-demo-token'))).toMatch(/^eyJ/)
    await expect(ada.page.getByTestId('connection')).toHaveText(/connected/i)

    const bob = await openDemo(browser, broker.httpUrl, 'Bob', `#token=${await token(secretFile, 'bob')}`)
    users.push(bob)
    await pickName(bob)
    await send(ada.page, 'Hello with a token')
    await expect(ada.page.locator('li.msg.mine', { hasText: 'Hello with a token' })).toHaveAttribute('data-delivery', 'sent')
    await expect.poll(() => texts(bob.page)).toEqual(['Hello with a token'])
    await expect(bob.page.getByTestId('online').locator('li[data-name="Ada"]')).toBeVisible()
    // A reload keeps the session's token.
    await bob.page.reload()
    await expect(bob.page.getByTestId('connection')).toHaveText(/connected/i)
    await expect(bob.page.getByTestId('sign-in')).toHaveCount(0)

    const anonymous = await openDemo(browser, broker.httpUrl, 'Anon', '')
    users.push(anonymous)
    await expect(anonymous.page.getByTestId('sign-in')).toContainText('This broker requires a sign-in token')
    await expect(anonymous.page.getByTestId('sign-in-reason')).toHaveText(/^authentication failed: /)

    // A token signed with another secret (a bad signature).
    const otherSecret = join(dataDir, 'other-secret.txt')
    await writeFile(otherSecret, randomBytes(32).toString('base64'))
    const forger = await openDemo(browser, broker.httpUrl, 'Forger', `#token=${await token(otherSecret, 'mallory')}`)
    users.push(forger)
    await expect(forger.page.getByTestId('sign-in')).toContainText('The broker refused your token')
    await expect(forger.page.getByTestId('sign-in-reason')).toHaveText(/^authentication failed: /)
    await screenshot(forger.page, info, 'sign-in-refused')

    // Signing in from the panel with a good token: the page reloads, connects and shows the room.
    await forger.page.getByLabel('Access token').fill(await token(secretFile, 'carol'))
    await forger.page.getByRole('button', { name: 'Sign in' }).click()
    await expect(forger.page.getByTestId('sign-in')).toHaveCount(0)
    await pickName({ ...forger, name: 'Carol' })
    await expect(forger.page.getByTestId('connection')).toHaveText(/connected/i)
    await expect.poll(() => texts(forger.page)).toEqual(['Hello with a token'])

    expect(pageErrors(users)).toEqual([])
    await broker.stop(5_000)
  } finally {
    for (const u of users) await u.context.close()
    await killAll()
    await rm(dataDir, { recursive: true, force: true })
  }
})
