/**
 * @module The command line of a runtime entry (bun, deno): `--data-dir DIR [--host H] [--port N]` and the broker's
 * numeric limits as on `samsa start` (`--max-connections-per-ip 100`: each key of broker-config.ts's settings table
 * in kebab case), each value checked by the broker's own schema, and `--allow-anonymous` (serve a non-loopback host
 * with no authentication, as on `samsa start`). A bad line throws with what is wrong.
 */
import { brokerSettings, settingProblem, type BrokerSettingKey } from '../../broker/broker-config.js'

export interface EntryArgs {
  readonly dataDir: string
  readonly host: string
  readonly port: number
  /** The limits given on the command line, and allowAnonymous when `--allow-anonymous` was given. */
  readonly config: Partial<Record<BrokerSettingKey, number>> & { allowAnonymous?: true }
}

const kebab = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
const SETTING_FLAGS = new Map<string, BrokerSettingKey>(Object.keys(brokerSettings).flatMap((key) => (isSettingKey(key) ? [[kebab(key), key] as const] : [])))

function isSettingKey(key: string): key is BrokerSettingKey {
  return key in brokerSettings
}

export function parseEntryArgs(argv: readonly string[], command: string): EntryArgs {
  const values = new Map<string, string>()
  const config: Partial<Record<BrokerSettingKey, number>> & { allowAnonymous?: true } = {}
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    if (flag === '--allow-anonymous') {
      config.allowAnonymous = true
      continue
    }
    const eq = flag.indexOf('=')
    const name = eq === -1 ? flag : flag.slice(0, eq)
    const setting = SETTING_FLAGS.get(name)
    if (name !== '--data-dir' && name !== '--host' && name !== '--port' && !setting) {
      throw new Error(`${command}: unknown option ${flag} (usage: ${command} --data-dir DIR [--host 127.0.0.1] [--port 8080] [--max-connections N]…)`)
    }
    const value = eq === -1 ? argv[++i] : flag.slice(eq + 1)
    if (value === undefined || value === '') throw new Error(`${command}: ${name} needs a value`)
    if (setting) {
      const n = Number(value)
      const problem = settingProblem(setting, Number.isFinite(n) ? n : value)
      if (problem) throw new Error(`${command}: ${name}: ${problem}`)
      config[setting] = n
    } else values.set(name, value)
  }
  const dataDir = values.get('--data-dir')
  if (dataDir === undefined) throw new Error(`${command}: --data-dir DIR is required`)
  const port = Number(values.get('--port') ?? '8080')
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${command}: --port must be an integer from 0 to 65535, got ${values.get('--port')}`)
  return { dataDir, host: values.get('--host') ?? '127.0.0.1', port, config }
}
