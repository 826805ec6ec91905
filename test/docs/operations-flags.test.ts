/**
 * docs/operations.md stays the reference of `samsa start`: every flag of the command appears on the page; every row
 * of its flag tables names a real flag and that flag's env variable; and every setting of the broker's settings
 * table (brokerSettings, logSettings) has a row giving its flag, env variable, config field and the default the
 * broker really has.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command, type Option } from 'commander'
import { describe, expect, it } from 'vitest'
import { brokerSettings, defaultBrokerConfig, logSettings } from '../../packages/server/src/broker/broker-config.js'
import { registerStart } from '../../packages/server/src/adapters/node/cli/start-command.js'
import { settingEnv, settingFlag } from '../../packages/server/src/adapters/node/cli/setting-options.js'
import { REPO_ROOT } from '../support/child-broker.js'

const ops = readFileSync(join(REPO_ROOT, 'docs/operations.md'), 'utf8')

function startOptions(): readonly Option[] {
  const program = new Command()
  registerStart(program)
  return program.commands.find((c) => c.name() === 'start')!.options
}

/** The rows of the page's flag tables (headed `| flag | env |`): the flags named in the first cell, the env cell, every cell. */
function flagRows(): { flags: string[]; env: string; cells: string[] }[] {
  const rows: { flags: string[]; env: string; cells: string[] }[] = []
  let inTable = false
  for (const line of ops.split('\n')) {
    if (/^\| flag \| env \|/.test(line)) inTable = true
    else if (!line.startsWith('|')) inTable = false
    else if (inTable && /^\| `--/.test(line)) {
      const cells = line.split('|').slice(1, -1).map((c) => c.trim())
      rows.push({ flags: [...cells[0]!.matchAll(/`(--[a-z0-9-]+)/g)].map((m) => m[1]!), env: cells[1]!, cells })
    }
  }
  return rows
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, ms: 1, s: 1_000, min: 60_000, h: 3_600_000, day: 86_400_000, days: 86_400_000 }

/** A default cell as the table writes it ("2 MiB", "10,000", "30 s", "7 days", "none") → the config value. */
function parseDefault(cell: string): number | null {
  if (cell === 'none') return null
  const m = /^([\d,.]+)(?: (\w+))?$/.exec(cell)
  if (!m) throw new Error(`cannot read the default "${cell}"`)
  const unit = m[2] === undefined ? 1 : UNITS[m[2]]
  if (unit === undefined) throw new Error(`unknown unit in the default "${cell}"`)
  return Number(m[1]!.replace(/,/g, '')) * unit
}

describe('docs/operations.md documents samsa start as it is', () => {
  it('every flag of samsa start appears on the page', () => {
    const missing = startOptions().map((o) => o.long!).filter((flag) => flag !== '--help' && !ops.includes(`\`${flag}`) && !ops.includes(`${flag} `))
    expect(missing).toEqual([])
  })

  it('every flag-table row names real flags and their env variables', () => {
    const options = new Map(startOptions().map((o) => [o.long!, o]))
    const rows = flagRows()
    expect(rows.length).toBeGreaterThan(Object.keys(brokerSettings).length)
    for (const row of rows) {
      for (const flag of row.flags) {
        const option = options.get(flag)
        expect(option, `${flag} in docs/operations.md is no samsa start flag`).toBeDefined()
        if (option?.envVar) expect(row.env, `the env variable of ${flag}`).toContain(`\`${option.envVar}\``)
      }
    }
  })

  it('every broker setting has a row with its flag, env variable, config field and real default', () => {
    const rows = flagRows()
    const settings: [string, string, number | null][] = [
      ...Object.keys(brokerSettings).map((k): [string, string, number | null] => [k, k, defaultBrokerConfig[k as keyof typeof brokerSettings]]),
      ...Object.keys(logSettings).map((k): [string, string, number | null] => [k, `log.${k}`, defaultBrokerConfig.log[k as keyof typeof logSettings]]),
    ]
    for (const [key, field, value] of settings) {
      const row = rows.find((r) => r.flags[0] === settingFlag(key))
      expect(row, `a row for ${settingFlag(key)}`).toBeDefined()
      expect(row!.env).toBe(`\`${settingEnv(key)}\``)
      expect(row!.cells[2]!.startsWith(field), `the config field of ${settingFlag(key)}: "${row!.cells[2]}"`).toBe(true)
      expect([settingFlag(key), parseDefault(row!.cells[3]!)]).toEqual([settingFlag(key), value])
    }
  })
})
