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
  /**
   * Claim grants by the claim's JSON text, so the principals of tokens that grant the same (the connections of one
   * user, every tab) share one frozen Grants instead of each holding its own copy. At most CLAIM_GRANTS_CACHED texts
   * of at most CLAIM_TEXT_CACHED_CHARS each (a longer claim is read for its principal alone); the oldest is
   * forgotten first.
   */
  readonly #grantsByClaimText = new Map<string, Grants>()
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

  /** Distinct claim texts whose grants are held for sharing (≤ CLAIM_GRANTS_CACHED). */
  get claimTextsCached(): number {
    return this.#grantsByClaimText.size
  }

  #fromClaim(principal: Principal): Grants {
    let grants = this.#claimGrants.get(principal)
    if (grants === undefined) {
      grants = principal.kind === 'user' ? this.#grantsOfClaim(principal.claims.samsa) : NO_GRANTS
      this.#claimGrants.set(principal, grants)
    }
    return grants
  }

  #grantsOfClaim(claim: unknown): Grants {
    const text = claim === undefined ? undefined : JSON.stringify(claim)
    const cacheable = text !== undefined && text.length <= CLAIM_TEXT_CACHED_CHARS
    const known = cacheable ? this.#grantsByClaimText.get(text) : undefined
    if (known) return known
    let grants: Grants
    try {
      grants = frozenGrants(grantsFromClaim(claim))
    } catch {
      grants = NO_GRANTS
    }
    if (cacheable) {
      if (this.#grantsByClaimText.size >= CLAIM_GRANTS_CACHED) this.#grantsByClaimText.delete(this.#grantsByClaimText.keys().next().value!)
      this.#grantsByClaimText.set(text, grants)
    }
    return grants
  }
}

/** Distinct claim texts whose grants the authorizer keeps for sharing between principals. */
export const CLAIM_GRANTS_CACHED = 1_000
/** A claim longer than this (as JSON) is read for its principal alone, not kept for sharing. */
export const CLAIM_TEXT_CACHED_CHARS = 4_096

/** Shared between principals: nothing may change it. */
function frozenGrants(g: Grants): Grants {
  if (g === NO_GRANTS) return g
  const topics = Object.freeze({
    read: Object.freeze([...g.topics.read]), write: Object.freeze([...g.topics.write]), create: Object.freeze([...g.topics.create]),
    delete: Object.freeze([...g.topics.delete]), describe: Object.freeze([...g.topics.describe]),
  })
  const groups = Object.freeze({ read: Object.freeze([...g.groups.read]), describe: Object.freeze([...g.groups.describe]) })
  return Object.freeze({ topics, groups, admin: g.admin })
}
