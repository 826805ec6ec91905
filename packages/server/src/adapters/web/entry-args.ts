/**
 * @module The command line of a runtime entry (bun, deno): `--data-dir DIR [--host H] [--port N]`, the broker's
 * numeric limits as on `samsa start` (`--max-connections-per-ip 100`: each key of broker-config.ts's settings table in
 * kebab case, each value checked by the broker's own schema), and with the same names and meaning as `samsa start`:
 * TLS (`--tls-cert`, `--tls-key`, together), authentication (`--auth-hs256-secret-file`, `--auth-public-key ALG:PATH`
 * (repeatable), `--auth-jwks-file`, `--auth-jwks-url`, `--auth-issuer`, `--auth-audience`), `--allow-anonymous`, and
 * authorization (`--acl-file`, `--protect-metrics`). Files are named here and read at start. A bad line throws with
 * what is wrong.
 */
import { brokerSettings, settingProblem, type BrokerSettingKey } from '../../broker/broker-config.js'
import type { AuthenticationFiles } from '../node/authentication-files.js'
import type { AuthorizationOptions } from '../node/authorization.js'
import type { TlsFiles } from '../node/tls-files.js'

export interface EntryArgs {
  readonly dataDir: string
  readonly host: string
  readonly port: number
  /** The limits given on the command line, and allowAnonymous when `--allow-anonymous` was given. */
  readonly config: Partial<Record<BrokerSettingKey, number>> & { allowAnonymous?: true }
  readonly tls?: TlsFiles
  /** Present when any `--auth-*` flag was given. */
  readonly authentication?: AuthenticationFiles
  /** Present when `--acl-file` or `--protect-metrics` was given. */
  readonly authorization?: AuthorizationOptions
}

const kebab = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
const SETTING_FLAGS = new Map<string, BrokerSettingKey>(Object.keys(brokerSettings).flatMap((key) => (isSettingKey(key) ? [[kebab(key), key] as const] : [])))

/** Flags with a value (the last one given counts), and the AuthenticationFiles field each fills. */
const VALUE_FLAGS = ['--data-dir', '--host', '--port', '--tls-cert', '--tls-key', '--acl-file', '--auth-hs256-secret-file', '--auth-jwks-file', '--auth-jwks-url', '--auth-issuer', '--auth-audience'] as const
type ValueFlag = (typeof VALUE_FLAGS)[number]
const AUTH_FIELDS = { '--auth-hs256-secret-file': 'hs256SecretFile', '--auth-jwks-file': 'jwksFile', '--auth-jwks-url': 'jwksUrl', '--auth-issuer': 'issuer', '--auth-audience': 'audience' } as const

function isSettingKey(key: string): key is BrokerSettingKey {
  return key in brokerSettings
}

const isValueFlag = (name: string): name is ValueFlag => (VALUE_FLAGS as readonly string[]).includes(name)

export function parseEntryArgs(argv: readonly string[], command: string): EntryArgs {
  const values = new Map<ValueFlag, string>()
  const publicKeys: string[] = []
  let protectMetrics = false
  const config: Partial<Record<BrokerSettingKey, number>> & { allowAnonymous?: true } = {}
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    if (flag === '--allow-anonymous') {
      config.allowAnonymous = true
      continue
    }
    if (flag === '--protect-metrics') {
      protectMetrics = true
      continue
    }
    const eq = flag.indexOf('=')
    const name = eq === -1 ? flag : flag.slice(0, eq)
    const setting = SETTING_FLAGS.get(name)
    if (!isValueFlag(name) && name !== '--auth-public-key' && !setting) {
      throw new Error(`${command}: unknown option ${flag} (usage: ${command} --data-dir DIR [--host 127.0.0.1] [--port 8080] [--tls-cert FILE --tls-key FILE] [--auth-hs256-secret-file FILE]… [--max-connections N]…)`)
    }
    const value = eq === -1 ? argv[++i] : flag.slice(eq + 1)
    if (value === undefined || value === '') throw new Error(`${command}: ${name} needs a value`)
    if (setting) {
      const n = Number(value)
      const problem = settingProblem(setting, Number.isFinite(n) ? n : value)
      if (problem) throw new Error(`${command}: ${name}: ${problem}`)
      config[setting] = n
    } else if (isValueFlag(name)) values.set(name, value)
    else publicKeys.push(value)
  }
  const dataDir = values.get('--data-dir')
  if (dataDir === undefined) throw new Error(`${command}: --data-dir DIR is required`)
  const port = Number(values.get('--port') ?? '8080')
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${command}: --port must be an integer from 0 to 65535, got ${values.get('--port')}`)
  const certFile = values.get('--tls-cert')
  const keyFile = values.get('--tls-key')
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error(`${command}: --tls-cert and --tls-key go together`)
  const authentication: { -readonly [K in keyof AuthenticationFiles]: AuthenticationFiles[K] } = {}
  for (const [flag, field] of Object.entries(AUTH_FIELDS)) {
    const v = isValueFlag(flag) ? values.get(flag) : undefined
    if (v !== undefined) authentication[field] = v
  }
  if (publicKeys.length > 0) authentication.publicKeys = publicKeys
  const aclFile = values.get('--acl-file')
  return {
    dataDir,
    host: values.get('--host') ?? '127.0.0.1',
    port,
    config,
    ...(certFile !== undefined && keyFile !== undefined ? { tls: { certFile, keyFile } } : {}),
    ...(Object.keys(authentication).length > 0 ? { authentication } : {}),
    ...(aclFile !== undefined || protectMetrics ? { authorization: { ...(aclFile !== undefined ? { aclFile } : {}), ...(protectMetrics ? { protectMetrics: true } : {}) } } : {}),
  }
}
