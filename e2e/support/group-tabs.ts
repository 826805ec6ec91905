/**
 * @module Browser tabs as consumer-group members (e2e/pages/group-member.html) for the group specs: the SDK's built
 * groups module (packages/client-browser/dist/samsa-groups.js, `npm run build`) served at /sdk/samsa-groups.js on the
 * pages' origin, and the test's side of a tab: its assigned/revoked events taken from the page every 100 ms
 * into a GroupMembers history, its processed records read from the `deliveries` store at the end (each written in the
 * same transaction as its position, so exactly what the pages processed; the tabs of one origin share it), a reload that ends the old load's ownership
 * in the history (`stopped`) after taking its last events.
 */
import type { BrowserContext, Page } from '@playwright/test'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { GroupMembers, HistoryLine } from '../../test/fault/support/group-members.js'
import type { GroupEvent } from '../../test/support/group-history.js'
import { readStore, servePages, waitReady } from './harness.js'

const GROUPS_BUNDLE = fileURLToPath(new URL('../../packages/client-browser/dist/samsa-groups.js', import.meta.url))

/** servePages, plus the SDK's groups module at /sdk/samsa-groups.js on the same origin. */
export async function serveGroupPages(context: BrowserContext, origin: { readonly host: string; readonly httpUrl: string }): Promise<void> {
  if (!existsSync(GROUPS_BUNDLE)) throw new Error(`${GROUPS_BUNDLE} is missing: run \`npm run build\` in the repository root first`)
  await servePages(context, origin)
  const js = readFileSync(GROUPS_BUNDLE, 'utf8')
  await context.route((url) => url.host === origin.host && url.pathname === '/sdk/samsa-groups.js', (route) => route.fulfill({ contentType: 'text/javascript; charset=utf-8', body: js }))
}

interface Take {
  readonly member: string
  readonly memberId: string
  readonly instanceId: string | null
  readonly memberEpoch: number
  readonly events: HistoryLine[]
  readonly errors: string[]
}

export class GroupTab {
  readonly page: Page
  readonly label: string
  /** The current load's member label (`tab1#2` after one reload). */
  member = ''
  last: Take | null = null
  readonly #group: GroupMembers
  readonly #url: string
  #pumping = false
  #pump: Promise<void> = Promise.resolve()

  constructor(page: Page, group: GroupMembers, opts: { label: string; origin: string; db: string }) {
    this.page = page
    this.label = opts.label
    this.#group = group
    const q = new URLSearchParams({ topic: group.topic, group: group.groupId, brokers: group.brokers.join(','), member: opts.label, db: opts.db })
    this.#url = `${opts.origin}/e2e/group-member.html?${q}`
  }

  async open(): Promise<void> {
    await this.page.goto(this.#url)
    await this.#ready()
  }

  /** Takes the page's buffered events into the history. */
  async take(): Promise<Take> {
    const t: Take = await this.page.evaluate(() => (window as any).e2eTake())
    this.last = t
    this.#group.ingest(this.label, t.events)
    return t
  }

  /** Reloads the tab: its last events taken, the old load's ownership ended (`stopped`) in the history. */
  async reload(): Promise<number> {
    await this.#stopPump()
    await this.take()
    const at = Date.now()
    this.#group.ingest(this.label, [{ type: 'stopped', member: this.member, at }])
    await this.page.reload()
    await this.#ready()
    return at
  }

  /** Closes the subscription (commit, leave) and takes the last events. */
  async close(): Promise<void> {
    await this.#stopPump()
    const t: Take = await this.page.evaluate(() => (window as any).e2eClose())
    this.last = t
    this.#group.ingest(this.label, t.events)
  }

  async #ready(): Promise<void> {
    await waitReady(this.page)
    this.member = await this.page.evaluate(() => (window as any).__e2e.member)
    this.#pumping = true
    this.#pump = (async () => {
      while (this.#pumping) {
        try {
          await this.take()
        } catch (e) {
          // The page or its context closed under the pump (a failed test's clean-up): its last events are lost then.
          if (this.page.isClosed() || !this.#pumping) return
          throw e
        }
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    this.#pump.catch(() => {})
  }

  /** Stops taking events; throws what made the pump fail, if anything did. */
  async #stopPump(): Promise<void> {
    this.#pumping = false
    await this.#pump
  }

  /** Stops the pump without taking anything more (a failed test's clean-up). */
  async dispose(): Promise<void> {
    this.#pumping = false
    await this.#pump.catch(() => {})
  }
}

/**
 * The `deliveries` store of an origin's database (every tab of the origin writes its processed records there, each in
 * the transaction of its position) taken into the history: rows are read in key order and only the new ones ingested.
 */
export class DeliveriesSync {
  #seen = 0
  readonly #group: GroupMembers
  readonly #db: string

  constructor(group: GroupMembers, db: string) {
    this.#group = group
    this.#db = db
  }

  /** Ingests the rows written since the last call, read through `page` (any open page of the origin). */
  async sync(page: Page): Promise<number> {
    const rows = await readStore<GroupEvent>(page, this.#db, 'deliveries')
    this.#group.ingest('deliveries', rows.slice(this.#seen))
    this.#seen = rows.length
    return rows.length
  }
}
