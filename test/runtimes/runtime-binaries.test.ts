/** The pinned Node binaries are the versions package.json names, and none of them shadows this machine's node in npm scripts. */
import { spawnSync } from 'node:child_process'
import { lstatSync, readFileSync, readlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { missingBinary, runtimeBinary } from './runtime-binaries.js'

const rootPackage: { devDependencies: Record<string, string> } = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'))

describe('pinned Node binaries', () => {
  it.each(['node22', 'node24'] as const)('%s is the exact version package.json pins', (runtime) => {
    expect(missingBinary(runtime)).toBeNull()
    const pinned = /^npm:node@(\d+\.\d+\.\d+)$/.exec(rootPackage.devDependencies[runtime] ?? '')?.[1]
    expect(pinned, `devDependencies.${runtime} is an exact npm:node@x.y.z alias`).toBeDefined()
    const r = spawnSync(runtimeBinary(runtime).file, ['--version'], { encoding: 'utf8', timeout: 10_000 })
    expect(r.stdout.trim()).toBe(`v${pinned}`)
  })

  it('leaves no node_modules/.bin/node pointing at them (npm scripts keep the machine node: the postinstall removes it)', () => {
    const link = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url))
    let target: string | null = null
    try {
      if (lstatSync(link).isSymbolicLink()) target = readlinkSync(link)
    } catch {
      target = null
    }
    expect(target ?? '').not.toMatch(/node2[24]/)
  })
})
