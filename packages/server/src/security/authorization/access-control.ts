/**
 * @module AccessControl: the authorizer as every request path uses it. `authorize` is the one place a refusal is
 * built: a typed, non-retriable SamsaError naming the principal, operation and topic (TOPIC_AUTHORIZATION_FAILED, or
 * CLUSTER_AUTHORIZATION_FAILED for admin), counted by operation in a metric and written to the audit log. Also the
 * producer-id binding rules (producer-id-binding.ts), which hold only while authorization is on.
 *
 * Invariant: clients cannot flood the log with refusals: every refusal is counted, but at most
 * REFUSAL_AUDIT_LINES audit lines of refusals are written per window (then one line saying how many were not).
 * Allowed topic changes are always audited.
 */
import { ErrorMessages, readBatchHeader, SamsaError } from '@samsa/shared'
import type { Clock, Logger } from '../../clock.js'
import { RateLimitedLog } from '../../sessions/rate-limited-log.js'
import type { BrokerMetrics } from '../../observability/broker-metrics.js'
import { audit, type AuditAction } from '../audit-log.js'
import type { Principal } from '../principal.js'
import type { Authorizer } from './authorizer.js'
import type { GroupOperation, Operation } from './grants.js'
import { bindProducerId, isProducerIdOf } from './producer-id-binding.js'

export type Via = 'ws' | 'http'

/** The resource an `admin` check is about, in messages and audit lines. */
const CLUSTER = 'cluster'

/** Refusal audit lines per window, over the whole broker. */
export const REFUSAL_AUDIT_LINES = { maxLines: 100, windowMs: 10_000 } as const

export class AccessControl {
  readonly #authorizer: Authorizer
  readonly #logger: Logger
  readonly #metrics: BrokerMetrics
  readonly #refusalLines: RateLimitedLog

  constructor(authorizer: Authorizer, logger: Logger, metrics: BrokerMetrics, clock: Clock) {
    this.#authorizer = authorizer
    this.#logger = logger
    this.#metrics = metrics
    this.#refusalLines = new RateLimitedLog(logger, clock, {
      ...REFUSAL_AUDIT_LINES,
      suppressedMessage: 'audit: more authorization refusals were not logged (each is counted in samsa_authorization_refusals_total)',
    })
  }

  get enabled(): boolean {
    return this.#authorizer.enabled
  }

  /** Runs `listener` whenever grants may have been taken away (a reloaded ACL file); returns the unregister function. */
  onGrantsChanged(listener: () => void): () => void {
    return this.#authorizer.onChange(listener)
  }

  /** Whether the principal may, without counting or logging anything (filters: metadata, topic lists). */
  may(principal: Principal, op: Operation, topic: string): boolean {
    return this.#authorizer.allows(principal, op, topic)
  }

  /**
   * Throws the refusal unless the principal may perform `op` on `topic` (`admin`: the cluster, `what` describing it).
   * `action` names the audit line (`authorize` unless the request is a topic change).
   */
  authorize(principal: Principal, op: Operation, topic: string, via: Via, action: AuditAction = 'authorize', what = 'administer the cluster'): void {
    if (this.#authorizer.allows(principal, op, topic)) return
    const resource = op === 'admin' ? CLUSTER : topic
    const error = op === 'admin'
      ? new SamsaError('CLUSTER_AUTHORIZATION_FAILED', ErrorMessages.clusterNotAuthorized(principal.name, what))
      : new SamsaError('TOPIC_AUTHORIZATION_FAILED', ErrorMessages.topicNotAuthorized(principal.name, op, topic))
    this.refused(principal, action, op, resource, error.message, via)
    throw error
  }

  /** Whether the principal may perform `op` on a consumer group, without counting or logging anything (lists). */
  mayGroup(principal: Principal, op: GroupOperation, groupId: string): boolean {
    return this.#authorizer.allowsGroup(principal, op, groupId)
  }

  /** Throws GROUP_AUTHORIZATION_FAILED (counted as `group.<op>`, audited) unless the principal may perform `op` on the group. */
  authorizeGroup(principal: Principal, op: GroupOperation, groupId: string, via: Via): void {
    if (this.#authorizer.allowsGroup(principal, op, groupId)) return
    const error = new SamsaError('GROUP_AUTHORIZATION_FAILED', ErrorMessages.groupNotAuthorized(principal.name, op, groupId))
    this.refused(principal, 'authorize', `group.${op}`, `group:${groupId}`, error.message, via)
    throw error
  }

  /** Counts and audits a refusal decided elsewhere (a foreign producer id). */
  refused(principal: Principal, action: AuditAction, op: string, resource: string, reason: string, via: Via): void {
    this.#metrics.authorizationRefused(op)
    if (this.#refusalLines.allow()) audit(this.#logger, { action, outcome: 'refused', principal, resource, reason, via })
  }

  /** Audits an allowed topic change once it has happened. */
  changed(principal: Principal, action: 'topic.create' | 'topic.delete', topic: string, via: Via): void {
    audit(this.#logger, { action, outcome: 'allowed', principal, resource: topic, via })
  }

  /** Producer ids are bound to principals while authorization is on, except a peer's (a broker's own). */
  bindsProducerIds(principal: Principal): boolean {
    return this.#authorizer.enabled && principal.kind !== 'peer'
  }

  /** The id as handed to `principal`: bound to it while binding is on, as allocated otherwise. */
  bind(principal: Principal, producerId: number): number {
    return this.bindsProducerIds(principal) ? bindProducerId(principal, producerId) : producerId
  }

  /**
   * INVALID_PRODUCER_ID_MAPPING unless `producerId` is −1 or bound to the principal (while binding is on). The same
   * answer whether or not the id exists, so it tells nobody which ids do.
   */
  requireProducerId(principal: Principal, producerId: number, topic: string, via: Via): void {
    if (producerId < 0 || !this.bindsProducerIds(principal) || isProducerIdOf(principal, producerId)) return
    const message = ErrorMessages.producerIdNotOwned(principal.name, producerId)
    this.refused(principal, 'authorize', 'producerId', topic, message, via)
    throw new SamsaError('INVALID_PRODUCER_ID_MAPPING', message)
  }

  /** requireProducerId for the producer id in a produced batch's header (a batch too short to have one is left to the batch checks). */
  requireBatchProducerId(principal: Principal, batch: Uint8Array, topic: string, via: Via): void {
    if (!this.bindsProducerIds(principal)) return
    let producerId: number
    try {
      producerId = readBatchHeader(batch).producerId
    } catch {
      return
    }
    this.requireProducerId(principal, producerId, topic, via)
  }
}
