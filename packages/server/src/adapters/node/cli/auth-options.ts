/**
 * @module The `samsa start` flags of authentication (client tokens, anonymous access) and of the cluster secret, and
 * what startBroker gets from them. Files are read here, so a bad file is one CLI line before any port is taken.
 */
import { Option, type Command } from 'commander'
import { loadAuthenticationFiles, readSecretFile, type AuthenticationSettings } from '../authentication-files.js'
import { CliError } from './cli-error.js'

export interface AuthOptions {
  authHs256SecretFile?: string
  authPublicKey?: string[]
  authJwksFile?: string
  authJwksUrl?: string
  authIssuer?: string
  authAudience?: string
  allowAnonymous?: boolean
  clusterSecretFile?: string
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter(Boolean)]

export function addAuthOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--auth-hs256-secret-file <path>', 'verify client tokens (JWT) signed HS256 with the secret in this file (≥ 32 bytes); turns authentication on').env('SAMSA_AUTH_HS256_SECRET_FILE'))
    .addOption(
      new Option('--auth-public-key <alg:path>', 'verify client tokens with this public key (PEM or JWK file), for one algorithm: RS256, ES256 or EdDSA; repeatable; turns authentication on')
        .env('SAMSA_AUTH_PUBLIC_KEY')
        .argParser(collect),
    )
    .addOption(new Option('--auth-jwks-file <path>', 'verify client tokens with the keys of this JWKS file; turns authentication on').env('SAMSA_AUTH_JWKS_FILE'))
    .addOption(new Option('--auth-jwks-url <url>', "verify client tokens with the keys at this JWKS URL (your identity provider's; fetched and cached); turns authentication on").env('SAMSA_AUTH_JWKS_URL'))
    .addOption(new Option('--auth-issuer <iss>', "with authentication: a token's iss must be this").env('SAMSA_AUTH_ISSUER'))
    .addOption(new Option('--auth-audience <aud>', "with authentication: a token's aud must include this").env('SAMSA_AUTH_AUDIENCE'))
    .addOption(
      // Its env var is read in authFromOptions: commander would take SAMSA_ALLOW_ANONYMOUS=false as true.
      new Option('--allow-anonymous', 'with authentication: accept clients without a token as the principal "anonymous"; without it: allow an open broker on a non-loopback --host (env SAMSA_ALLOW_ANONYMOUS=1)'),
    )
    .addOption(
      new Option('--cluster-secret-file <path>', 'cluster nodes prove membership to each other with tokens signed by the secret in this file (≥ 32 bytes; or SAMSA_CLUSTER_SECRET); every node needs the same')
        .env('SAMSA_CLUSTER_SECRET_FILE'),
    )
}

export interface StartAuthentication {
  readonly authentication?: AuthenticationSettings
  readonly clusterSecret?: Uint8Array
  readonly allowAnonymous: boolean
}

/** A boolean env var: 1/true or 0/false (or unset, or empty). */
function envFlag(env: NodeJS.ProcessEnv, name: string): boolean {
  const v = (env[name] ?? '').trim().toLowerCase()
  if (v === '1' || v === 'true') return true
  if (v === '0' || v === 'false' || v === '') return false
  throw new Error(`${name} must be 1, true, 0 or false, got ${JSON.stringify(env[name])}`)
}

/** Reads the files the flags name; throws a CliError naming a bad one. `env` is where SAMSA_CLUSTER_SECRET comes from. */
export async function authFromOptions(o: AuthOptions, env: NodeJS.ProcessEnv): Promise<StartAuthentication> {
  try {
    const authentication = await loadAuthenticationFiles({
      ...(o.authHs256SecretFile ? { hs256SecretFile: o.authHs256SecretFile } : {}),
      ...(o.authPublicKey ? { publicKeys: o.authPublicKey } : {}),
      ...(o.authJwksFile ? { jwksFile: o.authJwksFile } : {}),
      ...(o.authJwksUrl ? { jwksUrl: o.authJwksUrl } : {}),
      ...(o.authIssuer ? { issuer: o.authIssuer } : {}),
      ...(o.authAudience ? { audience: o.authAudience } : {}),
    })
    const clusterSecret = o.clusterSecretFile
      ? await readSecretFile(o.clusterSecretFile, 'cluster secret file')
      : env['SAMSA_CLUSTER_SECRET'] ? new TextEncoder().encode(env['SAMSA_CLUSTER_SECRET']) : undefined
    return { authentication, ...(clusterSecret ? { clusterSecret } : {}), allowAnonymous: o.allowAnonymous === true || envFlag(env, 'SAMSA_ALLOW_ANONYMOUS') }
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e))
  }
}
