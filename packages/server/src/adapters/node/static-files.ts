/**
 * @module The Node implementation of the static-assets port: the built demo app's files from one directory
 * (packages/server/demo, which the build fills from apps/demo/dist).
 */
import { readFile } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { contentTypeFor, type StaticAsset, type StaticAssets } from '../../transport/static-assets.js'

/**
 * Serves files under `rootDir`. A file once read stays cached for the process's life (the directory is the
 * installed build, so the cache holds at most its files); a miss is never cached, so requests for paths that do
 * not exist cannot grow memory. A path resolving outside `rootDir` is a miss.
 */
export function staticFiles(rootDir: string): StaticAssets {
  const root = resolve(rootDir)
  const cache = new Map<string, Promise<StaticAsset | null>>()
  return async (path) => {
    const file = resolve(join(root, path))
    const rel = relative(root, file)
    if (rel === '' || rel.startsWith('..') || rel.split(sep).includes('..')) return null
    const hit = cache.get(rel)
    if (hit) return hit
    const body = await readFile(file).catch(() => null)
    if (body === null) return null
    const asset: StaticAsset = { body: new Uint8Array(body), contentType: contentTypeFor(rel) }
    cache.set(rel, Promise.resolve(asset))
    return asset
  }
}
