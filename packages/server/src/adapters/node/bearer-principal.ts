/**
 * @module The principal of an HTTP request (AppDeps.principalOf): the JWT of its `Authorization: Bearer <jwt>`
 * header, verified as a hello's token is. Never a query parameter or a cookie (no ambient authority). Without a
 * header the request is ANONYMOUS only when the broker allows anonymous clients; a refusal throws the
 * AuthenticationFailure (the app answers 401), counted and audited like a refused hello.
 */
import type { Context } from 'hono'
import type { Broker } from '../../broker/broker.js'
import { audit } from '../../security/audit-log.js'
import { AuthenticationFailure } from '../../security/authentication/authentication-failure.js'
import type { Authenticator } from '../../security/authentication/authenticator.js'
import { ANONYMOUS, type Principal } from '../../security/principal.js'

/** `remoteAddressOf`: the runtime's client address of a request (for the audit line), undefined when unknown. */
export function bearerPrincipalOf(broker: Broker, authenticator: Authenticator, allowAnonymous: boolean, remoteAddressOf: (c: Context) => string | undefined = () => undefined): (c: Context) => Promise<Principal> {
  return async (c) => {
    const header = c.req.header('authorization')
    if (header === undefined && allowAnonymous) return ANONYMOUS
    const token = header === undefined ? undefined : /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header)?.[1]
    try {
      return await authenticator.authenticate(token)
    } catch (e) {
      if (e instanceof AuthenticationFailure) {
        broker.metrics.authenticationRefused('user', e.reason)
        const remoteAddress = remoteAddressOf(c)
        audit(broker.logger, { action: 'authenticate', outcome: 'refused', reason: e.reason, via: 'http', ...(remoteAddress ? { remoteAddress } : {}) })
      }
      throw e
    }
  }
}
