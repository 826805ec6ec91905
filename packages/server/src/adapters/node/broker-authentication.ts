/**
 * @module How a Node broker authenticates, decided once at start: the client token verifier (when any key source is
 * configured), the cluster-secret peer check, and the rules on an open broker. Invariants: an open (anonymous)
 * broker binds only a loopback host unless allowAnonymous; a cluster with authentication has a cluster secret; the
 * start-up log says whether the broker is open.
 */
import { ConfigError, type BrokerConfig } from '../../broker/broker-config.js'
import type { Logger } from '../../clock.js'
import type { Authenticator, PeerAuthenticator } from '../../security/authentication/authenticator.js'
import { ClusterSecretAuthenticator } from '../../security/authentication/peer-token.js'
import { TokenVerifier } from '../../security/authentication/token-verifier.js'
import type { AuthenticationSettings } from './authentication-files.js'
import { nodeClock } from './node-clock.js'
import { isLoopbackHost } from '../../security/loopback-host.js'

export interface BrokerAuthentication {
  readonly authenticator?: Authenticator
  readonly peerAuthenticator?: PeerAuthenticator
}

export { isLoopbackHost } from '../../security/loopback-host.js'

/** Checks the combination and builds the verifiers; throws a one-line ConfigError or a key's own error. */
export async function brokerAuthentication(
  host: string,
  config: BrokerConfig,
  opts: { readonly authentication?: AuthenticationSettings; readonly clusterSecret?: Uint8Array; readonly clustered: boolean },
): Promise<BrokerAuthentication> {
  if (!config.authEnabled && !config.allowAnonymous && !isLoopbackHost(host)) {
    throw new ConfigError(`refusing to serve ${host} with no authentication: configure a verification key (--auth-hs256-secret-file, --auth-public-key, --auth-jwks-file or --auth-jwks-url), or pass --allow-anonymous to serve it open`)
  }
  if (opts.clustered && config.authEnabled && !opts.clusterSecret) {
    throw new ConfigError('a cluster with authentication needs a cluster secret (--cluster-secret-file or SAMSA_CLUSTER_SECRET), or any outsider could join it as a peer')
  }
  const nowMs = () => nodeClock.nowMs()
  return {
    ...(config.authEnabled ? { authenticator: await TokenVerifier.create({ ...opts.authentication, clockSkewSeconds: config.authClockSkewMs / 1000, nowMs }) } : {}),
    ...(opts.clusterSecret ? { peerAuthenticator: new ClusterSecretAuthenticator(opts.clusterSecret, config.clusterId, nowMs) } : {}),
  }
}

/** The start-up line about authentication: info when open on loopback, a warning when open elsewhere or anonymous is allowed. */
export function logAuthenticationMode(logger: Logger, host: string, httpUrl: string, config: BrokerConfig): void {
  if (!config.authEnabled) {
    const open = `the broker is open (anonymous): authentication is off, so anyone who can reach ${httpUrl} may read, write, create and delete topics`
    if (isLoopbackHost(host)) logger.info({ authentication: 'off' }, `${open}; it listens on loopback only`)
    else logger.warn({ authentication: 'off', host }, `${open} (--allow-anonymous)`)
  } else if (config.allowAnonymous) {
    logger.warn({ authentication: 'on', allowAnonymous: true }, 'clients without a token are accepted as the principal "anonymous" (--allow-anonymous)')
  } else {
    logger.info({ authentication: 'on' }, 'clients must present a token (authentication is on)')
  }
}
