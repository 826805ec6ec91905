/**
 * @module `samsa token create`: a development JWT for a broker with authentication, signed with the broker's HS256
 * secret file or a private key (RS256/ES256/EdDSA, PEM PKCS#8 or JWK). Claims: `sub`, `iat`, `exp` (now + --ttl),
 * optional `iss`/`aud`, and the grants as the `samsa` claim (`{ read, write, create, delete, describe, groups: { read,
 * describe }, admin }`, each present only when given). The token goes to stdout alone, so `$(samsa token create …)` captures it.
 */
import { readFile } from 'node:fs/promises'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { SignJWT, importJWK, importPKCS8, type CryptoKey } from 'jose'
import { readSecretFile } from '../authentication-files.js'
import { ASYMMETRIC_ALGORITHMS, MIN_SECRET_BYTES, type AsymmetricAlgorithm } from '../../../security/authentication/verification-keys.js'
import { CliError } from './cli-error.js'

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 }

/** `90`, `90s`, `15m`, `1h`, `7d` → seconds (1 s … 366 d). */
export function ttlArg(value: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(value.trim())
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2] || 's']! : NaN
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > 366 * 86_400) throw new InvalidArgumentError('It must be a duration such as 90s, 15m, 1h or 7d (at most 366d).')
  return seconds
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter(Boolean)]

export interface TokenCreateOptions {
  readonly sub: string
  readonly ttlSeconds: number
  readonly read?: readonly string[]
  readonly write?: readonly string[]
  readonly create?: readonly string[]
  readonly delete?: readonly string[]
  readonly describe?: readonly string[]
  /** Consumer groups it may be a member of (group read). */
  readonly groupRead?: readonly string[]
  /** Consumer groups it may find and describe (group describe). */
  readonly groupDescribe?: readonly string[]
  readonly admin?: boolean
  readonly issuer?: string
  readonly audience?: string
  readonly kid?: string
}

/** The `samsa` claim of the grants given (absent when none is). */
export function grantsClaim(o: TokenCreateOptions): Record<string, unknown> | undefined {
  const grants: Record<string, unknown> = {}
  for (const op of ['read', 'write', 'create', 'delete', 'describe'] as const) if (o[op] && o[op].length > 0) grants[op] = [...o[op]]
  const groups: Record<string, string[]> = {}
  if (o.groupRead && o.groupRead.length > 0) groups['read'] = [...o.groupRead]
  if (o.groupDescribe && o.groupDescribe.length > 0) groups['describe'] = [...o.groupDescribe]
  if (Object.keys(groups).length > 0) grants['groups'] = groups
  if (o.admin) grants['admin'] = true
  return Object.keys(grants).length > 0 ? grants : undefined
}

/** Signs the token; `nowMs` is the wall clock. */
export async function createToken(o: TokenCreateOptions, key: { readonly alg: 'HS256' | AsymmetricAlgorithm; readonly key: CryptoKey | Uint8Array }, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000)
  const samsa = grantsClaim(o)
  let jwt = new SignJWT(samsa ? { samsa } : {}).setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(o.kid ? { kid: o.kid } : {}) }).setSubject(o.sub).setIssuedAt(iat).setExpirationTime(iat + o.ttlSeconds)
  if (o.issuer) jwt = jwt.setIssuer(o.issuer)
  if (o.audience) jwt = jwt.setAudience(o.audience)
  return jwt.sign(key.key)
}

async function signingKey(given: { secretFile?: string; privateKey?: string }): Promise<{ alg: 'HS256' | AsymmetricAlgorithm; key: CryptoKey | Uint8Array }> {
  // An empty value (an env var set to '') counts as not given.
  const o = { ...(given.secretFile ? { secretFile: given.secretFile } : {}), ...(given.privateKey ? { privateKey: given.privateKey } : {}) }
  if ((o.secretFile === undefined) === (o.privateKey === undefined)) throw new CliError('give exactly one of --secret-file (HS256) and --private-key ALG:PATH')
  if (o.secretFile !== undefined) {
    const secret = await readSecretFile(o.secretFile, 'HS256 secret file').catch((e: unknown) => {
      throw new CliError(e instanceof Error ? e.message : String(e))
    })
    if (secret.byteLength < MIN_SECRET_BYTES) throw new CliError(`the HS256 secret in ${o.secretFile} must be at least ${MIN_SECRET_BYTES} bytes, got ${secret.byteLength}`)
    return { alg: 'HS256', key: secret }
  }
  const m = /^([A-Za-z0-9]+):(.+)$/.exec(o.privateKey!)
  const alg = ASYMMETRIC_ALGORITHMS.find((a) => a === m?.[1])
  if (!m || !alg) throw new CliError(`--private-key "${o.privateKey}" must be ALG:PATH with ALG one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`)
  const path = m[2]!
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read the private key file ${path}: ${e.code ?? e.message}`)
  })
  try {
    if (text.includes('-----BEGIN PRIVATE KEY-----')) return { alg, key: await importPKCS8(text, alg) }
    const jwk: unknown = JSON.parse(text)
    if (typeof jwk !== 'object' || jwk === null || !('d' in jwk) || typeof jwk.d !== 'string' || !('kty' in jwk) || typeof jwk.kty !== 'string') {
      throw new Error('expected a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) or a private JWK')
    }
    const key = await importJWK({ ...jwk, kty: jwk.kty, d: jwk.d }, alg)
    return { alg, key }
  } catch (e) {
    throw new CliError(`the private key file ${path} (${alg}): ${e instanceof Error ? e.message : String(e)}`)
  }
}

export function registerToken(program: Command): void {
  const token = program.command('token').description('development tokens for a broker with authentication')
  token
    .command('create')
    .description("print a signed JWT: sub, exp and the grants as the samsa claim (e.g. --read 'chat.*' --write 'chat.*')")
    .requiredOption('--sub <subject>', 'the principal the token speaks for (its sub)')
    .addOption(new Option('--read <patterns>', "topics it may read: literal names or prefixes ending in * (chat.*); repeatable or comma-separated").argParser(collect))
    .addOption(new Option('--write <patterns>', 'topics it may write to').argParser(collect))
    .addOption(new Option('--create <patterns>', 'topics it may create').argParser(collect))
    .addOption(new Option('--delete <patterns>', 'topics it may delete').argParser(collect))
    .addOption(new Option('--describe <patterns>', 'topics it may see in metadata (read implies describe)').argParser(collect))
    .addOption(new Option('--group-read <patterns>', 'consumer groups it may be a member of (join, commit); implies --group-describe').argParser(collect))
    .addOption(new Option('--group-describe <patterns>', 'consumer groups it may find, describe and list').argParser(collect))
    .option('--admin', 'cluster administration rights')
    .addOption(new Option('--ttl <duration>', 'lifetime: 90s, 15m, 1h, 7d').argParser(ttlArg).default(3_600, '1h'))
    .addOption(new Option('--secret-file <path>', "sign HS256 with the broker's secret file").env('SAMSA_AUTH_HS256_SECRET_FILE'))
    .addOption(new Option('--private-key <alg:path>', 'sign with a private key (PKCS#8 PEM or JWK): RS256, ES256 or EdDSA'))
    .option('--issuer <iss>', 'the iss claim (what --auth-issuer expects)')
    .option('--audience <aud>', 'the aud claim (what --auth-audience expects)')
    .option('--kid <kid>', 'the key id in the header')
    .action(async (o: { sub: string; ttl: number; secretFile?: string; privateKey?: string } & Omit<TokenCreateOptions, 'sub' | 'ttlSeconds'>) => {
      if (o.sub.trim() === '') throw new CliError('--sub must not be empty')
      const key = await signingKey(o)
      process.stdout.write(`${await createToken({ ...o, ttlSeconds: o.ttl }, key, Date.now())}\n`)
    })
}
