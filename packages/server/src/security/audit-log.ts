/**
 * @module Audit log: one structured line per security-relevant event (a topic created, deleted or changed; an
 * authentication refused; an operation refused by an ACL; a peer refused). Lines go to the broker's logger with
 * `audit: true`, so an operator can route them apart (`jq 'select(.audit)'`).
 */
import type { Logger } from '@samsa/shared'
import type { Principal } from './principal.js'

export type AuditAction =
  | 'authenticate'
  | 'reauthenticate'
  | 'authorize'
  | 'topic.create'
  | 'topic.delete'
  | 'topic.alter'
  | 'peer.authenticate'
  | 'acl.reload'
  /** A browser request refused for its Origin or Host (resource: the origin or host). */
  | 'request.origin'

export interface AuditEvent {
  readonly action: AuditAction
  readonly outcome: 'allowed' | 'refused'
  /** Who: absent when authentication itself failed. */
  readonly principal?: Principal
  /** What the action was on: a topic name, `cluster`, a file path. */
  readonly resource?: string
  /** Why it was refused, in words (never a token or a secret). */
  readonly reason?: string
  /** The client's address, when known. */
  readonly remoteAddress?: string
  /** `ws` or `http`. */
  readonly via?: 'ws' | 'http'
}

export function audit(logger: Logger, event: AuditEvent): void {
  const { principal, ...rest } = event
  const fields = { audit: true, ...rest, ...(principal ? { principal: principal.name, principalKind: principal.kind } : {}) }
  if (event.outcome === 'refused') logger.warn(fields, `audit: ${event.action} refused`)
  else logger.info(fields, `audit: ${event.action}`)
}
