/**
 * @module What happens when the browser policy refuses a request: one metric increment (by via and reason) and, for
 * a refused origin or host, one audit line naming it (a content-type refusal is a client mistake, not an attack
 * signal, so it is counted only). Shared by the upgrade path and the HTTP app so both report alike.
 */
import type { Logger } from '@samsa/shared'
import type { BrokerMetrics } from '../observability/broker-metrics.js'
import { audit } from './audit-log.js'
import type { RefusalReason, RequestHeaders } from './browser-policy.js'

export type RefusalReporter = (via: 'ws' | 'http', reason: RefusalReason, headers: RequestHeaders, remoteAddress?: string) => void

export function refusalReporter(logger: Logger, metrics: Pick<BrokerMetrics, 'requestRefused'>): RefusalReporter {
  return (via, reason, headers, remoteAddress) => {
    metrics.requestRefused(via, reason)
    if (reason === 'content-type') return
    audit(logger, {
      action: 'request.origin',
      outcome: 'refused',
      resource: (reason === 'origin' ? headers.origin : headers.host) ?? '',
      reason: reason === 'origin' ? 'origin not allowed' : 'host not allowed',
      via,
      ...(remoteAddress !== undefined ? { remoteAddress } : {}),
    })
  }
}
