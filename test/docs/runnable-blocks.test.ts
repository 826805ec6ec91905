/**
 * Runs every code block of README.md, docs/client.md and docs/security.md marked runnable, in document order, against
 * one real broker started here from the BUILT CLI (`npm run build` first) on port 0, so the examples cannot rot
 * (security.md's production walkthrough starts its own broker, with TLS and tokens, on port 8443, and stops it).
 *
 * The convention (docs/README.md says it too): a fence whose info string has the word `runnable` —
 * ```sh runnable, ```ts runnable, ```js runnable — is a complete program that must finish with exit code 0.
 * - sh: run with `bash -euo pipefail`; `npx samsa …` runs the built CLI; `localhost:8080` and `127.0.0.1:8080`
 *   become the test broker's address, and SAMSA_BROKER points at it.
 * - ts / js: compiled by esbuild into an ES module under .tmp/ inside the repository (so `@samsa/*` and `ws`
 *   resolve from the workspace), with the same address substitution, and run with node.
 * Blocks of one file share the broker and run in order: the README's Node example runs after its tour.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { transform } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, SAMSA_BIN, startChildBroker, type ChildBroker } from '../support/child-broker.js'

export interface CodeBlock {
  readonly file: string
  /** 1-based line of the opening fence. */
  readonly line: number
  readonly lang: string
  readonly runnable: boolean
  readonly code: string
}

/** Fenced code blocks of a markdown text (``` fences; the info string is the language, then flags such as `runnable`). */
export function codeBlocks(file: string, markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})\s*(\S*)\s*(.*)$/.exec(lines[i]!)
    if (!open) continue
    const fence = open[1]!
    const body: string[] = []
    let j = i + 1
    while (j < lines.length && !lines[j]!.startsWith(fence)) body.push(lines[j++]!)
    if (j === lines.length) throw new Error(`${file}:${i + 1}: a code fence is never closed`)
    blocks.push({ file, line: i + 1, lang: open[2]!, runnable: open[3]!.split(/\s+/).includes('runnable'), code: body.join('\n') })
    i = j
  }
  return blocks
}

const DOCS = ['README.md', 'docs/client.md', 'docs/security.md'] as const
const blocksOf = (file: string) => codeBlocks(file, readFileSync(join(REPO_ROOT, file), 'utf8'))
const runnable = DOCS.flatMap((f) => blocksOf(f).filter((b) => b.runnable))

const BLOCK_TIMEOUT_MS = 30_000
const scratch = join(REPO_ROOT, '.tmp', 'docs-blocks')

function run(cmd: string, args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()))
    proc.stderr.on('data', (c: Buffer) => (out += c.toString()))
    const timer = setTimeout(() => proc.kill('SIGKILL'), BLOCK_TIMEOUT_MS)
    proc.once('error', reject)
    proc.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, out })
    })
    proc.stdin.end(opts.input ?? '')
  })
}

let broker: ChildBroker
let dataDir: string
let workDir: string

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'samsa-docs-data-'))
  workDir = await mkdtemp(join(tmpdir(), 'samsa-docs-cwd-'))
  await mkdir(scratch, { recursive: true })
  broker = await startChildBroker(dataDir)
})

afterAll(async () => {
  await broker?.stop()
  await rm(dataDir, { recursive: true, force: true })
  await rm(workDir, { recursive: true, force: true })
  await rm(scratch, { recursive: true, force: true })
})

const withBroker = (code: string) => code.replace(/\b(localhost|127\.0\.0\.1):8080\b/g, `127.0.0.1:${broker.port}`)

async function runBlock(block: CodeBlock): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  if (block.lang === 'sh' || block.lang === 'bash') {
    const script = [`npx() { if [ "$1" = samsa ]; then shift; node ${JSON.stringify(SAMSA_BIN)} "$@"; else command npx "$@"; fi; }`, withBroker(block.code)].join('\n')
    return run('bash', ['-euo', 'pipefail', '-c', script], { cwd: workDir, env: { SAMSA_BROKER: broker.url } })
  }
  if (block.lang === 'ts' || block.lang === 'js') {
    const { code } = await transform(withBroker(block.code), { loader: block.lang, format: 'esm', target: 'node20' })
    const file = join(scratch, `${block.file.replace(/\W/g, '_')}_${block.line}.mjs`)
    await writeFile(file, code)
    return run(process.execPath, [file], { cwd: scratch })
  }
  throw new Error(`${block.file}:${block.line}: a runnable block must be sh, ts or js, not "${block.lang}"`)
}

describe('runnable code blocks of the docs', () => {
  it('the README marks its tour and its Node example runnable', () => {
    const readme = runnable.filter((b) => b.file === 'README.md')
    expect(readme.some((b) => b.lang === 'sh' && b.code.includes('npx samsa topics create orders'))).toBe(true)
    expect(readme.some((b) => b.lang === 'ts' && b.code.includes('createClient(') && b.code.includes("from 'ws'"))).toBe(true)
    expect(runnable.filter((b) => b.file === 'docs/client.md').length).toBeGreaterThan(0)
    expect(runnable.some((b) => b.file === 'docs/security.md' && b.code.includes('--tls-cert') && b.code.includes('--acl-file'))).toBe(true)
  })

  it('the marker is read from the info string only', () => {
    const md = ['```ts runnable', 'a()', '```', '```ts', 'b()', '```', '````sh runnable x', '```', 'c', '````'].join('\n')
    expect(codeBlocks('x.md', md).map((b) => [b.line, b.lang, b.runnable, b.code])).toEqual([
      [1, 'ts', true, 'a()'],
      [4, 'ts', false, 'b()'],
      [7, 'sh', true, '```\nc'],
    ])
  })

  for (const block of runnable) {
    it(`${block.file}:${block.line} (${block.lang}) runs to completion`, async () => {
      const r = await runBlock(block)
      expect(r.signal, `killed after ${BLOCK_TIMEOUT_MS} ms: the block did not finish. Output:\n${r.out}`).toBeNull()
      expect(r.code, `exit code ${r.code}. Output:\n${r.out}`).toBe(0)
    }, BLOCK_TIMEOUT_MS + 5_000)
  }
})
