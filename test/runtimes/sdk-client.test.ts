/**
 * The SDK as a client inside other runtimes: `@samsa/client-browser`, built (`npm run build` first), imported by
 * package name from a script the runtime runs itself (sdk-client/round-trip.ts) with the runtime's global WebSocket,
 * against a broker (this machine's Node): Bun, Deno, Node 22 and 24 (which have a global WebSocket; Node 20 needs
 * `ws`, covered by every other suite); and inside a Cloudflare Worker and a Durable Object on workerd
 * (sdk-client/worker.ts, bundled with the `workerd` condition and run by Miniflare: sdk-client/run-in-workerd.ts).
 * Bundled with that condition, the Worker leaves no import to the runtime (no `node:` module), and no entry point a
 * Worker may import (sdk-client/every-entry.ts) leaves one or reaches `ws`. And every entry point of the package's
 * `exports` carries a condition per runtime, each naming the file `default` names.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMPATIBILITY_DATE } from '../../packages/server/scripts/build-worker.mjs'
import { REPO_ROOT } from '../support/child-broker.js'
import { launchBroker, type LaunchedBroker } from './launchers.js'
import { missingBinary, runtimeBinary, runtimeEnv, type RuntimeName } from './runtime-binaries.js'
import { bundleWorkerClient, runWorkerClient, type WorkerClientBundle } from './sdk-client/run-in-workerd.js'

const SCRIPT = fileURLToPath(new URL('./sdk-client/round-trip.ts', import.meta.url))
const CLIENT_RUNTIMES: readonly RuntimeName[] = ['bun', 'deno', 'node22', 'node24']
const CONDITIONS = ['browser', 'workerd', 'bun', 'deno', 'node', 'default'] as const
/**
 * The broker Worker's date, and one before 2026-03-17, when workerd's WebSockets started to default to Blob binary
 * messages (`websocket_standard_binary_type`): the SDK's client socket works on both sides of it with no flag.
 */
const WORKERD_DATES = ['2025-01-01', COMPATIBILITY_DATE] as const
/** Entry points a Worker does not import: `./testing` is Node only (`ws`), `./samsa.iife.js` a classic script. */
const NOT_FOR_WORKERS = ['./testing', './samsa.iife.js']
const pkg: { exports: Record<string, Record<string, string>> } = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/client-browser/package.json'), 'utf8'))

describe('the SDK as a client inside other runtimes', () => {
  let dir: string
  let broker: LaunchedBroker

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'samsa-sdk-client-'))
    broker = await launchBroker('node', dir)
  })

  afterAll(async () => {
    broker?.kill()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it.each(CLIENT_RUNTIMES)('%s: produces with acks and consumes from earliest through its global WebSocket', (runtime) => {
    expect(missingBinary(runtime)).toBeNull()
    const { file, prefix } = runtimeBinary(runtime)
    const r = spawnSync(file, [...prefix, SCRIPT, broker.url, `sdk-${runtime}`], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000, env: runtimeEnv() })
    const output = `${r.stdout}${r.stderr}`.trim()
    expect(r.status, `${runtime}: ${r.error?.message ?? output}`).toBe(0)
    const line = r.stdout.trim().split('\n').at(-1)!
    expect(JSON.parse(line)).toEqual({
      resolved: expect.stringMatching(/\/packages\/client-browser\/dist\/index\.js$/),
      webSocket: 'function',
      offsets: [0, 1, 2],
      values: ['one', 'two', 'three'],
    })
  })

  describe('inside a Cloudflare Worker (workerd)', () => {
    let bundle: Promise<WorkerClientBundle>
    beforeAll(() => {
      bundle = bundleWorkerClient()
    })

    it('the workerd condition resolves to the runtime-neutral build, and the bundle imports no node: module', async () => {
      const { external, inputs } = await bundle
      const sdkFiles = inputs.filter((f) => f.includes('packages/client-browser/'))
      expect(sdkFiles).toContain('packages/client-browser/dist/index.js')
      expect(sdkFiles.filter((f) => !f.startsWith('packages/client-browser/dist/'))).toEqual([])
      expect(external).toEqual([])
    })

    it('every entry point a Worker may import bundles with the workerd condition to no node: module and no ws', async () => {
      const imported = [...readFileSync(join(REPO_ROOT, 'test/runtimes/sdk-client/every-entry.ts'), 'utf8').matchAll(/from '@samsa\/client-browser(\/[^']+)?'/g)].map((m) => `.${m[1] ?? ''}`)
      expect(imported.sort()).toEqual(Object.keys(pkg.exports).filter((e) => !NOT_FOR_WORKERS.includes(e)).sort())
      const { external, inputs } = await bundleWorkerClient('every-entry')
      expect(external).toEqual([])
      expect(inputs.filter((f) => /(^|\/)node_modules\/ws\//.test(f))).toEqual([])
    })

    it.each(WORKERD_DATES)('compatibility date %s: a request produces with acks and consumes from earliest through the global WebSocket; a Durable Object keeps its client across requests', async (date) => {
      const { code } = await bundle
      const [perRequest, kept] = [`sdk-workerd-${date}`, `sdk-workerd-object-${date}`]
      const requests = [{ path: '/', topic: perRequest }, { path: '/object', topic: kept }, { path: '/object', topic: kept }]
      const answers = await runWorkerClient(code, date, broker.url, requests)
      const bodies = answers.map((a) => (a.status === 200 ? JSON.parse(a.body) : `${a.status}: ${a.body}`))
      expect(bodies).toEqual([
        { webSocket: 'function', offsets: [0, 1, 2], values: ['one', 'two', 'three'] },
        { offset: 0, served: 1 },
        { offset: 1, served: 2 },
      ])
    })
  })
})

describe('@samsa/client-browser exports', () => {

  it('every entry point: types first, a condition per runtime naming the default file, default last', () => {
    const wrong = Object.entries(pkg.exports).flatMap(([entry, conditions]) => {
      const keys = Object.keys(conditions)
      // ./testing is Node only (its fake broker listens with ws): no browser or workerd condition, so a browser or
      // Worker bundler does not resolve it to a file that cannot run there.
      const expected = ['types', ...CONDITIONS.filter((c) => entry !== './testing' || (c !== 'browser' && c !== 'workerd'))]
      const files = new Set(expected.slice(1).map((c) => conditions[c]))
      return keys.join() === expected.join() && files.size === 1 ? [] : [`${entry}: ${keys.join(', ')} -> ${[...files].join(', ')}`]
    })
    expect(wrong).toEqual([])
    expect(Object.keys(pkg.exports).length).toBeGreaterThan(5)
  })
})
