import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../../', import.meta.url))

async function sources(dir: string, skip: (rel: string) => boolean): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    const rel = relative(root, p)
    if (skip(rel)) continue
    if (e.isDirectory()) out.push(...(await sources(p, skip)))
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.contract.ts')) out.push(p)
  }
  return out
}

/** Runtime globals and modules a pure core must receive as dependencies instead of touching. */
const FORBIDDEN: [RegExp, string][] = [
  [/from\s+['"]node:/, 'imports a node:* module'],
  [/\brequire\(/, 'calls require()'],
  [/(?<![.\w])process\./, 'touches process'],
  [/\bDate\.now\(/, 'reads Date.now()'],
  [/\bMath\.random\(/, 'calls Math.random()'],
  [/(?<![.\w#])(setTimeout|setInterval|setImmediate|queueMicrotask)\((?!\w+\??\s*:)/, 'uses a timer global'],
  [/(?<![.\w])Buffer\./, 'uses Buffer'],
  [/(?<![.\w])console\./, 'writes to console'],
  [/(?<![.\w])performance\./, 'reads performance'],
  [/(?<![.\w])(Deno|Bun)\./, 'touches a runtime global'],
]

async function violations(files: string[]): Promise<string[]> {
  const found: string[] = []
  for (const f of files) {
    const text = (await readFile(f, 'utf8')).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
    for (const [re, what] of FORBIDDEN) if (re.test(text)) found.push(`${relative(root, f)} ${what}`)
  }
  return found
}

describe('pure cores', () => {
  it('the broker outside src/adapters/ imports no node:* module and touches no runtime global', async () => {
    const files = await sources(join(root, 'packages/server/src'), (rel) => rel.startsWith('packages/server/src/adapters') || rel.includes('/testing'))
    expect(files.length).toBeGreaterThan(10)
    expect(await violations(files)).toEqual([])
  })

  it('@samsa/shared touches no runtime global', async () => {
    const files = await sources(join(root, 'packages/shared/src'), () => false)
    expect(await violations(files)).toEqual([])
  })

  it('the SDK (outside its testing helpers) imports no node:* module', async () => {
    const files = await sources(join(root, 'packages/client-browser/src'), (rel) => rel.includes('/testing'))
    const nodeOnly = (await violations(files)).filter((v) => /node:\*|require|process|Buffer|runtime global/.test(v))
    expect(nodeOnly).toEqual([])
  })
})
