import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { measureBundleApps } from '../scripts/bundle-measure.mjs'

const budgetFile = fileURLToPath(new URL('../bundle-budget.json', import.meta.url))

function readBudgets(): Map<string, number> {
  const parsed: unknown = JSON.parse(readFileSync(budgetFile, 'utf8'))
  const table = typeof parsed === 'object' && parsed !== null && 'gzipBytes' in parsed ? parsed.gzipBytes : undefined
  if (typeof table !== 'object' || table === null) throw new Error(`${budgetFile}: no "gzipBytes" object`)
  const budgets = new Map<string, number>()
  for (const [name, bytes] of Object.entries(table)) {
    if (typeof bytes !== 'number') throw new Error(`${budgetFile}: gzipBytes["${name}"] is not a number`)
    budgets.set(name, bytes)
  }
  return budgets
}

describe('SDK bundle budget (bundle-budget.json)', () => {
  it('every entry point app bundles within its gzip budget', async () => {
    const budgets = readBudgets()
    const measured = await measureBundleApps()
    const unbudgeted = measured.filter((a) => !budgets.has(a.name)).map((a) => a.name)
    expect(unbudgeted, `add a budget for these apps to ${budgetFile}`).toEqual([])
    const over = measured
      .filter((a) => a.gzipBytes > (budgets.get(a.name) ?? 0))
      .map(
        (a) =>
          `${a.name} (${a.imports}): ${a.gzipBytes} B gzip, over its budget of ${budgets.get(a.name)} B by ${a.gzipBytes - (budgets.get(a.name) ?? 0)} B`,
      )
    expect(
      over,
      `The SDK grew past its size budget. Find what grew (\`node packages/client-browser/scripts/bundle-measure.mjs <app>\` lists its bundle by source file) ` +
        `and shrink it; if the growth is deliberate, raise the figure in packages/client-browser/bundle-budget.json in the same commit and say why.`,
    ).toEqual([])
  }, 60_000)
})
