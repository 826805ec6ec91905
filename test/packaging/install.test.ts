/**
 * The packages as a user gets them: `npm pack` of @samsa/shared, @samsa/client-browser and @samsa/server (from the
 * BUILT dist: `npm run build` first), checked for their contents, then installed from the tarballs into an empty
 * folder where `npx samsa` must start a broker that serves its demo and SDK bundles, and the SDK must run in Node.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, assertBuilt } from '../support/child-broker.js'
import { until } from '../support/until.js'

const PACKAGES = ['shared', 'client-browser', 'server'] as const
type PackageDir = (typeof PACKAGES)[number]

interface PackageJson {
  name: string
  license?: string
  engines?: { node?: string }
  files?: string[]
  bin?: Record<string, string>
  exports?: Record<string, string | Record<string, string>>
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
}

interface Packed {
  dir: PackageDir
  json: PackageJson
  tarball: string
  files: string[]
}

const rootLicense = readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8')
const rootJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson

function run(cmd: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
    proc.once('error', reject)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Bare package names a built file imports (static, dynamic, require, require.resolve, createRequire(...)(...)). */
function importedPackages(source: string): Set<string> {
  const names = new Set<string>()
  // The specifier must look like a package name, so prose in strings ("… opts.from', …") is never taken for an import.
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire(?:\.resolve)?\(\s*|\)\(\s*)['"]((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(?:\/[\w.\/-]*)?)['"]/gi
  for (const m of source.matchAll(re)) {
    const spec = m[1]!
    if (spec.startsWith('node:') || builtinModules.includes(spec)) continue
    names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!)
  }
  return names
}

let work: string
const packed = new Map<PackageDir, Packed>()

beforeAll(async () => {
  assertBuilt()
  work = await mkdtemp(join(tmpdir(), 'samsa-pack-'))
  for (const dir of PACKAGES) {
    const cwd = join(REPO_ROOT, 'packages', dir)
    const r = await run('npm', ['pack', '--json', '--pack-destination', work], cwd, 60_000)
    if (r.code !== 0) throw new Error(`npm pack in packages/${dir} failed (${r.code}): ${r.stderr}`)
    const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[]
    packed.set(dir, {
      dir,
      json: JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as PackageJson,
      tarball: join(work, info!.filename),
      files: info!.files.map((f) => f.path),
    })
  }
}, 120_000)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

describe('npm pack', () => {
  it.each(PACKAGES)('@samsa/%s ships its license, its build and nothing of its sources or tests', (dir) => {
    const p = packed.get(dir)!
    expect(p.json.license).toBe('Apache-2.0')
    expect(p.files).toContain('LICENSE')
    expect(readFileSync(join(REPO_ROOT, 'packages', dir, 'LICENSE'), 'utf8')).toBe(rootLicense)
    expect(rootLicense).toMatch(/Apache License\s+Version 2\.0, January 2004/)
    expect(p.files.filter((f) => /(^|\/)src\/|\.test\.|\.contract\.|tsbuildinfo|(^|\/)testdata\//.test(f))).toEqual([])
    expect(p.files).toContain('dist/index.js')
    expect(p.files).toContain('dist/index.d.ts')
  })

  it.each(PACKAGES)('@samsa/%s: every export and bin points at a shipped file, types included', (dir) => {
    const p = packed.get(dir)!
    const targets = Object.entries(p.json.exports ?? {}).flatMap(([entry, t]) => {
      if (typeof t === 'string') return [[entry, t] as const]
      expect(t.types, `export ${entry} has types`).toBeDefined()
      return Object.values(t).map((v) => [entry, v] as const)
    })
    for (const [, target] of targets) expect(p.files, `${p.json.name} exports ${target}`).toContain(target.replace(/^\.\//, ''))
    for (const bin of Object.values(p.json.bin ?? {})) expect(p.files).toContain(bin)
  })

  it.each(PACKAGES)('@samsa/%s declares every package its shipped code imports', (dir) => {
    const p = packed.get(dir)!
    const declared = new Set([...Object.keys(p.json.dependencies ?? {}), ...Object.keys(p.json.peerDependencies ?? {}), ...Object.keys(p.json.optionalDependencies ?? {})])
    const undeclared: string[] = []
    for (const file of p.files.filter((f) => f.endsWith('.js'))) {
      for (const name of importedPackages(readFileSync(join(REPO_ROOT, 'packages', dir, file), 'utf8'))) {
        if (!declared.has(name)) undeclared.push(`${file} imports ${name}`)
      }
    }
    expect(undeclared).toEqual([])
  })

  it.each(PACKAGES)('@samsa/%s states the Node versions it is tested on, the same as the repository', (dir) => {
    expect(packed.get(dir)!.json.engines?.node).toBe(rootJson.engines?.node)
  })

  it('the import scanner sees every form of import the build emits', () => {
    const src = `import a from 'ws'; import 'idb'; export * from "@samsa/shared/x"; await import('pino'); require.resolve('@scope/name/package.json'); createRequire(u)('@node-rs/crc32'); import { x } from 'node:fs'; import y from './local.js'; import z from 'fs'`
    expect([...importedPackages(src)].sort()).toEqual(['@node-rs/crc32', '@samsa/shared', '@scope/name', 'idb', 'pino', 'ws'])
  })
})

describe('installed from the tarballs into an empty folder', () => {
  let app: string
  let broker: ChildProcess | null = null

  beforeAll(async () => {
    app = join(work, 'app')
    await mkdir(app)
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'samsa-install-check', private: true, type: 'module' }))
    const tarballs = PACKAGES.map((d) => packed.get(d)!.tarball)
    const r = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs], app, 120_000)
    if (r.code !== 0) throw new Error(`npm install of the tarballs failed (${r.code}): ${r.stderr}`)
  }, 150_000)

  afterAll(async () => {
    // The broker was started here; end its process group if a failed test left it running.
    if (broker && broker.exitCode === null && broker.signalCode === null) process.kill(-broker.pid!, 'SIGKILL')
  })

  it('a TypeScript user gets types for the package, the ES bundle and the global `Samsa` of the IIFE bundle', async () => {
    await writeFile(
      join(app, 'types-check.ts'),
      [
        "import { createClient, type SamsaClient } from '@samsa/client-browser'",
        "import { createClient as fromBundle } from '@samsa/client-browser/samsa.js'",
        "import type {} from '@samsa/client-browser/samsa.iife.js'",
        "export const a: SamsaClient = createClient({ brokers: 'ws://127.0.0.1:1' })",
        "export const b: SamsaClient = fromBundle({ brokers: 'ws://127.0.0.1:1' })",
        "export const c: SamsaClient = Samsa.createClient({ brokers: 'ws://127.0.0.1:1' })",
        '// @ts-expect-error: the global has only the real exports',
        'Samsa.noSuchExport',
      ].join('\n'),
    )
    const compilerOptions = { strict: true, noEmit: true, skipLibCheck: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [] }
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['types-check.ts'] }))
    const r = await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app, 60_000)
    expect(r.stdout + r.stderr).toBe('')
    expect(r.code).toBe(0)
  }, 60_000)

  it('`npx samsa --help` lists the commands', async () => {
    const r = await run('npx', ['--no-install', 'samsa', '--help'], app, 30_000)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    for (const command of ['start', 'topics', 'produce', 'consume']) expect(r.stdout).toContain(command)
  })

  it('`npx samsa start --port 0` serves /healthz, the demo and both SDK bundles, a Node client, and stops on SIGTERM', async () => {
    broker = spawn('npx', ['--no-install', 'samsa', 'start', '--port', '0', '--data', join(app, 'data'), '--log-format', 'json'], {
      cwd: app,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => broker!.once('exit', (code, signal) => resolve({ code, signal })))
    let stderr = ''
    broker.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
    const listening = await until(
      () => stderr.split('\n').flatMap((l) => (l.includes('"broker listening"') ? [JSON.parse(l) as { url: string }] : []))[0] ?? (broker!.exitCode !== null ? { exited: stderr } : null),
      { timeoutMs: 20_000, what: 'the installed broker to log "broker listening"' },
    )
    if ('exited' in listening) throw new Error(`the installed broker exited before listening: ${listening.exited}`)
    const httpUrl = listening.url

    const health = await fetch(`${httpUrl}/healthz`)
    expect(health.status).toBe(200)
    expect(((await health.json()) as { status: string }).status).toBe('ok')
    const demo = await fetch(`${httpUrl}/`)
    const appScript = /<script type="module" src="(\/app\/[\w.-]+\.js)"/.exec(await demo.text())?.[1]
    expect(appScript, 'the installed demo app loads its bundle from /app/').toBeDefined()
    const appJs = await fetch(`${httpUrl}${appScript}`)
    expect(appJs.status).toBe(200)
    expect(appJs.headers.get('content-type')).toContain('javascript')
    const esm = await fetch(`${httpUrl}/sdk/samsa.js`)
    expect(esm.headers.get('content-type')).toContain('javascript')
    expect(await esm.text()).toMatch(/export\s*\{/)
    const iife = await fetch(`${httpUrl}/sdk/samsa.iife.js`)
    expect(iife.status).toBe(200)
    const script = await iife.text()
    expect(script).toMatch(/^"use strict";var Samsa=/)
    // A classic script: run it the way a <script> tag would and find the global it sets.
    const scope: { Samsa?: Record<string, unknown> } = {}
    new Function('globalThis', 'self', 'window', `${script}\n;globalThis.Samsa = Samsa`)(scope, scope, scope)
    expect(typeof scope.Samsa?.createClient).toBe('function')
    expect(typeof scope.Samsa?.indexedDbStorage).toBe('function')

    // The SDK from the installed package, in Node 20 with `ws` (installed with @samsa/server; an optional peer of the SDK).
    await writeFile(
      join(app, 'node-client.mjs'),
      [
        "import WebSocket from 'ws'",
        "import { createClient } from '@samsa/client-browser'",
        "import { ManualClock } from '@samsa/client-browser/testing'",
        'if (typeof ManualClock !== "function") throw new Error("the testing export did not load")',
        "const client = createClient({ brokers: [process.argv[2]], WebSocket })",
        "await client.admin.createTopic('installed', { partitions: 1 })",
        "const [meta] = await client.producer().send('installed', [{ value: 'from an installed package' }])",
        'console.log(JSON.stringify(meta))',
        'await client.close()',
      ].join('\n'),
    )
    const client = await run(process.execPath, ['node-client.mjs', `ws://${new URL(httpUrl).host}`], app, 30_000)
    expect(client.stderr).toBe('')
    expect(JSON.parse(client.stdout)).toEqual({ topic: 'installed', partition: 0, offset: 0 })

    // SIGTERM to npm and the broker (one process group, as a terminal's Ctrl-C or a service manager would):
    // the broker shuts down cleanly and stops serving; npm itself ends by the signal.
    process.kill(-broker.pid!, 'SIGTERM')
    const ended = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))])
    expect(ended).not.toBe('hung')
    await until(() => stderr.includes('shutting down: flushing and syncing logs'), { what: 'the broker to log its shutdown' })
    await until(() => fetch(`${httpUrl}/healthz`).then(() => false, () => true), { timeoutMs: 15_000, what: 'the broker to stop serving' })
  }, 60_000)
})
