/**
 * @module Runs sdk-client/worker.ts inside a Cloudflare Worker on workerd (Miniflare, pinned; no telemetry): bundled
 * as the broker's Worker is (scripts/build-worker.mjs: esbuild, the `workerd`/`worker`/`browser` conditions, `node:`
 * imports left external so that any shows), with no nodejs_compat flag, so the SDK file the `workerd` condition picks
 * must run on Web APIs alone. workerd failing to start is a failure with one line naming it, never a skip.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Miniflare } from 'miniflare'
import { buildWorker } from '../../../packages/server/scripts/build-worker.mjs'

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url))
const EVERY_ENTRY = fileURLToPath(new URL('./every-entry.ts', import.meta.url))

export interface WorkerClientBundle {
  readonly code: string
  /** Imports left to the runtime (a Worker without nodejs_compat has no `node:` module). */
  readonly external: readonly string[]
  /** The files bundled, relative to the repository (the SDK's: the files its `workerd` condition resolved to). */
  readonly inputs: readonly string[]
}

/** Bundles worker.ts (default), or with `'every-entry'` every entry point a Worker may import (every-entry.ts). */
export async function bundleWorkerClient(which: 'worker' | 'every-entry' = 'worker'): Promise<WorkerClientBundle> {
  const { outfile, external, inputs } = await buildWorker({ entry: which === 'worker' ? WORKER : EVERY_ENTRY })
  return { code: await readFile(outfile, 'utf8'), external, inputs }
}

export interface WorkerAnswer {
  readonly status: number
  readonly body: string
}

/**
 * Starts workerd with the bundle at `compatibilityDate` (the Durable Object `ClientObject` bound as CLIENTS), asks
 * the Worker each request in turn (path `/` or `/object`, with `broker` and the request's `topic`) until one fails
 * (each answers within the Worker's 15 s deadline, so a failing run ends within the test's timeout), then stops it.
 */
export async function runWorkerClient(code: string, compatibilityDate: string, broker: string, requests: readonly { path: string; topic: string }[]): Promise<WorkerAnswer[]> {
  process.env.WRANGLER_SEND_METRICS = 'false'
  process.env.WRANGLER_SEND_ERROR_REPORTS = 'false'
  let mf: Miniflare | null = null
  try {
    try {
      mf = new Miniflare({ modules: true, script: code, compatibilityDate, durableObjects: { CLIENTS: 'ClientObject' } })
      await mf.ready
    } catch (e) {
      // dispose() rethrows the start failure: this line, naming workerd, is the one reported.
      await mf?.dispose().catch(() => {})
      mf = null
      throw new Error(`workerd: could not start through Miniflare: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`)
    }
    const answers: WorkerAnswer[] = []
    for (const { path, topic } of requests) {
      const res = await mf.dispatchFetch(`http://worker${path}?${new URLSearchParams({ broker, topic })}`)
      answers.push({ status: res.status, body: (await res.text()).trim() })
      if (res.status !== 200) break
    }
    return answers
  } finally {
    await mf?.dispose()
  }
}
