/**
 * Cross-site WebSocket hijacking, in a real browser: with `--allowed-origins` set, a page on an origin not on the
 * list cannot open a socket to the broker (the upgrade is refused before it completes, and the broker counts it),
 * a page on a listed origin can; the demo the broker serves itself runs under its CSP without a violation.
 */
import { expect, test, type Page } from '@playwright/test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { killAll, startChildBroker, type ChildBroker } from '../test/support/child-broker.js'
import { badge, openChat } from './support/chat.js'

// Other origins on the loopback address (other ports: other origins); their pages are fulfilled by the test, so no
// server listens there. (Chromium grants local-network-access only to potentially trustworthy origins.)
const ALLOWED = 'http://127.0.0.1:18081'
const FOREIGN = 'http://127.0.0.1:18082'

/** Opens a WebSocket from the page to `url`; resolves with 'open', or 'error' with the close code. */
function tryOpen(page: Page, url: string): Promise<string> {
  return page.evaluate(
    (u) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(u)
        ws.onopen = () => {
          ws.close()
          resolve('open')
        }
        ws.onclose = (e) => resolve(`closed ${e.code}`)
      }),
    url,
  )
}

async function refusedUpgrades(broker: ChildBroker): Promise<number> {
  const text = await (await fetch(`${broker.httpUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith('samsa_refused_requests_total{via="ws",reason="origin"} '))
  return line === undefined ? 0 : Number(line.split(' ')[1])
}

test('a page on another origin cannot open a socket to the broker unless its origin is on --allowed-origins', async ({ browser }) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'samsa-e2e-origin-'))
  const context = await browser.newContext()
  try {
    const broker = await startChildBroker(dataDir, ['--allowed-origins', ALLOWED])
    // Both pages are fulfilled by the test (no server of their own); Chromium's Local Network Access checks need the
    // permission for a socket to 127.0.0.1, so the only thing that can stop the foreign page is the broker.
    for (const origin of [ALLOWED, FOREIGN]) await context.grantPermissions(['local-network-access'], { origin })
    await context.route((url) => url.origin === ALLOWED || url.origin === FOREIGN, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>other origin</title>' }))

    const foreign = await context.newPage()
    await foreign.goto(`${FOREIGN}/`)
    const before = await refusedUpgrades(broker)
    expect(await tryOpen(foreign, `${broker.url}/ws`)).toBe('closed 1006')
    expect(await refusedUpgrades(broker)).toBe(before + 1)
    // The broker's log lines arrive over its stdout, which may trail the /metrics answer: wait for the audit line.
    await expect.poll(() => broker.logs.some((l) => (l as Record<string, unknown>).audit === true && (l as Record<string, unknown>).resource === FOREIGN), { timeout: 10_000 }).toBe(true)

    const allowed = await context.newPage()
    await allowed.goto(`${ALLOWED}/`)
    expect(await tryOpen(allowed, `${broker.url}/ws`)).toBe('open')
    expect(await refusedUpgrades(broker)).toBe(before + 1)
    await broker.stop(5_000)
  } finally {
    await context.close()
    await killAll()
    await rm(dataDir, { recursive: true, force: true })
  }
})

test('the demo served by the broker connects under its Content-Security-Policy, through 127.0.0.1 and localhost', async ({ browser }) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'samsa-e2e-csp-'))
  try {
    const broker = await startChildBroker(dataDir)
    for (const origin of [broker.httpUrl, `http://localhost:${broker.port}`]) {
      const user = await openChat(browser, origin, 'csp')
      try {
        const csp = (await user.page.request.get(`${origin}/`)).headers()['content-security-policy']
        expect(csp).toContain("script-src 'self'")
        await expect(badge(user.page)).toHaveText(/connected/i)
        expect(user.problems.filter((p) => /Content.Security.Policy|pageerror/i.test(p))).toEqual([])
      } finally {
        await user.context.close()
      }
    }
    await broker.stop(5_000)
  } finally {
    await killAll()
    await rm(dataDir, { recursive: true, force: true })
  }
})
