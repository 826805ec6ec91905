/**
 * Runtime-only imports live only in files that runtime's entry loads: the module graph of the Bun, Deno and
 * Cloudflare entries (followed through relative imports) loads no other runtime's Hono adapter and none of the Node
 * server stack (ws, @hono/node-server and its subpaths, @hono/node-ws, pino), and no file outside a runtime's folder
 * imports that runtime's adapter or touches its global. prom-client is shared by Bun and Deno (their /metrics is
 * checked by test/runtimes/security-conformance.test.ts), not loaded by the Cloudflare entry. (The Worker's esbuild
 * bundle is checked by cloudflare/worker-bundle.test.ts.)
 */
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const src = fileURLToPath(new URL('../', import.meta.url))
const NODE_STACK = ['ws', '@hono/node-server', '@hono/node-ws', 'pino']
const isNodeStack = (spec: string) => NODE_STACK.some((p) => spec === p || spec.startsWith(`${p}/`))
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

async function specifiers(file: string): Promise<string[]> {
  const text = (await readFile(file, 'utf8')).replace(/\/\*[\s\S]*?\*\//g, '')
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]!).filter((s) => !/^import\s+type\b/.test(s))
}

/** Bare specifiers loaded at run time from `entry`, following relative imports (type-only imports are skipped). */
async function graph(entry: string): Promise<{ files: Set<string>; bare: Set<string> }> {
  const files = new Set<string>()
  const bare = new Set<string>()
  const todo = [entry]
  while (todo.length > 0) {
    const file = todo.pop()!
    if (files.has(file)) continue
    files.add(file)
    const text = (await readFile(file, 'utf8')).replace(/\/\*[\s\S]*?\*\//g, '')
    for (const m of text.matchAll(/(?:^|\n)\s*(import|export)(\s+type)?\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
      if (m[2]) continue
      const spec = m[3]!
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
      else bare.add(spec)
    }
  }
  return { files, bare }
}

async function allSources(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await allSources(p)))
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

describe('runtime-only imports', () => {
  it.each([
    ['bun', 'hono/bun', 'hono/deno'],
    ['deno', 'hono/deno', 'hono/bun'],
  ])('the %s entry loads its own Hono adapter and none of another runtime or of the Node server stack', async (runtime, own, other) => {
    const { bare, files } = await graph(join(src, `adapters/${runtime}/main.ts`))
    expect(files.size).toBeGreaterThan(20)
    expect(bare).toContain(own)
    expect([...bare].filter((s) => s === other || isNodeStack(s))).toEqual([])
    expect(bare).toContain('prom-client')
  })

  it('the cloudflare entry loads no Hono runtime adapter and none of the Node server stack', async () => {
    const { bare, files } = await graph(join(src, 'adapters/cloudflare/worker.ts'))
    expect(files.size).toBeGreaterThan(20)
    expect([...bare].filter((s) => ['hono/bun', 'hono/deno', 'hono/cloudflare-workers', '@hono/node-server', '@hono/node-ws', 'prom-client'].includes(s) || isNodeStack(s) || s.startsWith('node:'))).toEqual([])
    expect([...files].filter((f) => /adapters\/(node|bun|deno)\//.test(relative(src, f)))).toEqual([])
  })

  it('no file outside a runtime folder imports its Hono adapter or touches its global', async () => {
    const found: string[] = []
    for (const file of await allSources(src)) {
      const rel = relative(src, file)
      const text = (await readFile(file, 'utf8')).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      for (const runtime of ['bun', 'deno'] as const) {
        if (rel.startsWith(`adapters/${runtime}/`)) continue
        if ((await specifiers(file)).includes(`hono/${runtime}`)) found.push(`${rel} imports hono/${runtime}`)
        if (new RegExp(`(?<![.\\w])${runtime === 'bun' ? 'Bun' : 'Deno'}\\.`).test(text)) found.push(`${rel} touches ${runtime === 'bun' ? 'Bun' : 'Deno'}`)
      }
    }
    expect(found).toEqual([])
  })

  it('only adapters/cloudflare touches the Workers runtime (WebSocketPair, acceptWebSocket)', async () => {
    const found: string[] = []
    for (const file of await allSources(src)) {
      const rel = relative(src, file)
      if (rel.startsWith('adapters/cloudflare/')) continue
      const text = (await readFile(file, 'utf8')).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      if (/\bWebSocketPair\b|\.acceptWebSocket\(|cloudflare:/.test(text)) found.push(rel)
    }
    expect(found).toEqual([])
  })
})
