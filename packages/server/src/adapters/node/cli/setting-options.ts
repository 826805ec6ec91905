/**
 * @module The `samsa start` flags of the broker's limits, generated from the settings tables of broker-config.ts:
 * key maxConnections → `--max-connections <count>`, env SAMSA_MAX_CONNECTIONS, help from the table and the default
 * from defaultBrokerConfig. A value is checked by the broker's own schema, so a flag, its env var and code that
 * passes the same value to brokerConfig() get the same message.
 */
import { InvalidArgumentError, Option, type Command } from 'commander'
import {
  brokerSettings, defaultBrokerConfig, logSettings, settingProblem,
  type BrokerConfigOverrides, type BrokerSettingKey, type LogSettingKey, type SettingSpec,
} from '../../../broker/broker-config.js'

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

export const settingFlag = (key: string) => `--${kebab(key)}`
export const settingEnv = (key: string) => `SAMSA_${kebab(key).replace(/-/g, '_').toUpperCase()}`

function option(key: BrokerSettingKey | LogSettingKey, spec: SettingSpec, defaultValue: number | null): Option {
  const shown = defaultValue === null ? 'none' : String(defaultValue)
  return new Option(`${settingFlag(key)} <${spec.unit}>`, `${spec.help} (config ${key}, default ${shown})`).env(settingEnv(key)).argParser((value) => {
    // A number is checked as a number (so "1.5" and 1.5 in code get the same message); anything else as the text.
    const n = value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value
    const problem = settingProblem(key, n)
    if (problem) throw new InvalidArgumentError(problem)
    return n
  })
}

/** Adds one flag per table line; none has a commander default, so an absent flag leaves the config's default. */
export function addSettingOptions(cmd: Command): Command {
  for (const [key, spec] of Object.entries(brokerSettings)) cmd.addOption(option(key as BrokerSettingKey, spec, defaultBrokerConfig[key as BrokerSettingKey]))
  for (const [key, spec] of Object.entries(logSettings)) cmd.addOption(option(key as LogSettingKey, spec, defaultBrokerConfig.log[key as LogSettingKey]))
  return cmd
}

/** The config overrides of the flags (and env vars) that were given. */
export function settingOverrides(opts: Record<string, unknown>): BrokerConfigOverrides {
  const top: Record<string, number> = {}
  const log: Record<string, number> = {}
  for (const key of Object.keys(brokerSettings)) if (typeof opts[key] === 'number') top[key] = opts[key]
  for (const key of Object.keys(logSettings)) if (typeof opts[key] === 'number') log[key] = opts[key]
  return { ...top, log }
}
