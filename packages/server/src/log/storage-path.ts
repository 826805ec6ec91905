/** @module Validation of LogStorage paths: '/'-separated, relative, never leaving the storage root. */

/** Thrown for a path that is absolute, contains NUL or a backslash, or climbs out of the root with '..'. */
export class InvalidStoragePathError extends Error {
  constructor(readonly path: string, reason: string) {
    super(`invalid storage path ${JSON.stringify(path)}: ${reason}`)
    this.name = 'InvalidStoragePathError'
  }
}

/**
 * Splits a storage path into its segments, dropping '' and '.'. Rejects NUL, backslashes, absolute paths
 * (leading '/' or a drive letter) and any '..' segment. An empty result means the root itself, which only
 * directory operations accept (allowRoot).
 */
export function storagePathSegments(path: string, allowRoot = false): string[] {
  if (typeof path !== 'string') throw new InvalidStoragePathError(String(path), 'not a string')
  if (path.includes('\0')) throw new InvalidStoragePathError(path, 'contains a NUL byte')
  if (path.includes('\\')) throw new InvalidStoragePathError(path, 'contains a backslash')
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) throw new InvalidStoragePathError(path, 'is absolute; paths are relative to the storage root')
  const segments = path.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.includes('..')) throw new InvalidStoragePathError(path, "contains '..' and could leave the storage root")
  if (segments.length === 0 && !allowRoot) throw new InvalidStoragePathError(path, 'names the storage root, not a file')
  return segments
}

/** Canonical form of a storage path ('a/./b/' → 'a/b'). */
export function normalizeStoragePath(path: string, allowRoot = false): string {
  return storagePathSegments(path, allowRoot).join('/')
}

/** Parent directory of a canonical path ('' for top-level entries). */
export function parentStoragePath(path: string): string {
  const i = path.lastIndexOf('/')
  return i < 0 ? '' : path.slice(0, i)
}
