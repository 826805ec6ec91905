/**
 * @module Authorizer: the one decision of whether a principal may perform an operation on a topic (or the cluster).
 *
 * Invariants: with authorization off every principal may do everything (a broker without authentication behaves as
 * before); with it on, a peer (another broker of the cluster) may do everything, and anyone else only what the
 * grants of its token's `samsa` claim plus its ACL file entry allow (default deny). A claim that cannot be read
 * grants nothing. Pure: the ACL table comes from a function (acl-file-watcher.ts keeps it current).
 */
import type { Principal } from '../principal.js'
import { EMPTY_ACLS, type AclTable } from './acl-file.js'
import { grantsAllow, grantsAllowGroup, grantsFromClaim, mergeGrants, NO_GRANTS, type GroupOperation, type Grants, type Operation } from './grants.js'

export interface AuthorizerOptions {
  /** On once authentication is configured (or an ACL file is given); off: everything is allowed. */
  readonly enabled: boolean
  /** The current ACL file's table (empty without a file). */
  readonly acls?: () => AclTable
}

export class Authorizer {
  readonly enabled: boolean
  readonly #acls: () => AclTable
  /** Each principal's claim grants, read once (a Principal is immutable). */
  readonly #claimGrants = new WeakMap<Principal, Grants>()
  readonly #changeListeners = new Set<() => void>()

  constructor(opts: AuthorizerOptions) {
    this.enabled = opts.enabled
    const acls = opts.acls
    this.#acls = acls ?? (() => EMPTY_ACLS)
  }

  /** Authorization off: every principal is allowed everything. */
  static readonly OFF = new Authorizer({ enabled: false })

  /** Whether `principal` may perform `op` on `topic` (`topic` is ignored for `admin`, the cluster). */
  allows(principal: Principal, op: Operation, topic: string): boolean {
    if (!this.enabled || principal.kind === 'peer') return true
    return grantsAllow(this.grantsOf(principal), op, topic)
  }

  /** Whether `principal` may perform `op` on consumer group `groupId`. */
  allowsGroup(principal: Principal, op: GroupOperation, groupId: string): boolean {
    if (!this.enabled || principal.kind === 'peer') return true
    return grantsAllowGroup(this.grantsOf(principal), op, groupId)
  }

  /** Runs `listener` whenever the ACL table changed (a reloaded file); returns the unregister function. */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener)
    return () => void this.#changeListeners.delete(listener)
  }

  /** Tells the listeners the ACL table changed: what was allowed may not be any more. */
  changed(): void {
    for (const fn of [...this.#changeListeners]) fn()
  }

  /** What the principal's claim and its ACL entry grant together. */
  grantsOf(principal: Principal): Grants {
    return mergeGrants(this.#fromClaim(principal), this.#acls().get(principal.name) ?? NO_GRANTS)
  }

  #fromClaim(principal: Principal): Grants {
    let grants = this.#claimGrants.get(principal)
    if (grants === undefined) {
      try {
        grants = principal.kind === 'user' ? grantsFromClaim(principal.claims.samsa) : NO_GRANTS
      } catch {
        grants = NO_GRANTS
      }
      this.#claimGrants.set(principal, grants)
    }
    return grants
  }
}
