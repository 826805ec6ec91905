/**
 * @module The broker's authorizer on Node: the ACL file read through node:fs (its stamp is mtime and size) and kept
 * current by AclFileWatcher on the node clock. Invariant: a broker given a missing or bad ACL file does not start.
 */
import { readFile, stat } from 'node:fs/promises'
import type { Logger } from '../../clock.js'
import { AclFileWatcher, type AclFileSource } from '../../security/authorization/acl-file-watcher.js'
import { Authorizer } from '../../security/authorization/authorizer.js'
import { nodeClock } from './node-clock.js'

export interface AuthorizationOptions {
  /**
   * Authorization on: default deny, grants from token claims and the ACL file. Default: on when an ACL file is given.
   * (Authentication turns it on whenever a verification key is configured.)
   */
  readonly enabled?: boolean
  /** The ACL file (security/authorization/acl-file.ts); reloaded when it changes. */
  readonly aclFile?: string
  /** `/metrics` only for a principal with the admin right. */
  readonly protectMetrics?: boolean
}

export function aclFileSource(path: string): AclFileSource {
  return {
    path,
    stamp: async () => {
      try {
        const s = await stat(path)
        return `${s.mtimeMs}:${s.size}`
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
        throw e
      }
    },
    read: () => readFile(path, 'utf8'),
  }
}

/** The authorizer, and the function that stops watching its file. */
export async function openAuthorization(opts: AuthorizationOptions, pollIntervalMs: number, logger: Logger): Promise<{ authorizer: Authorizer; stop: () => void }> {
  let authorizer: Authorizer | null = null
  const watcher = opts.aclFile === undefined ? null : await AclFileWatcher.open({ source: aclFileSource(opts.aclFile), clock: nodeClock, logger, pollIntervalMs, onReload: () => authorizer?.changed() })
  const enabled = opts.enabled ?? watcher !== null
  if (enabled) logger.info({ aclFile: opts.aclFile ?? null }, 'authorization on: every request needs a grant (token claim or ACL file); default deny')
  authorizer = new Authorizer({ enabled, ...(watcher ? { acls: () => watcher.table } : {}) })
  return { authorizer, stop: () => watcher?.stop() }
}
