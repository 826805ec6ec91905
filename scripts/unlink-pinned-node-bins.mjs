#!/usr/bin/env node
/**
 * Root postinstall: removes `node_modules/.bin/node` when it points into the pinned Node binaries (devDependencies
 * `node22`, `node24`, npm package `node`, used only by the runtime conformance suite and the bench). npm links their
 * `node` bin into node_modules/.bin, which npm scripts put first on PATH: left there, `npm test` and every tool's
 * `#!/usr/bin/env node` would run on the pinned Node instead of the machine's. Invariant: after install, `node` in an
 * npm script is the machine's; the pinned ones are reached only by path (node_modules/node22/bin/node, …).
 */
import { lstatSync, readlinkSync, unlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const link = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url))
let target = null
try {
  if (lstatSync(link).isSymbolicLink()) target = readlinkSync(link)
} catch {
  // No link: nothing shadows the machine's node.
}
if (target !== null && /(^|[/\\])node(22|24)[/\\]/.test(target)) {
  unlinkSync(link)
  console.log(`samsa: removed node_modules/.bin/node (-> ${target}) so npm scripts keep this machine's node`)
}
