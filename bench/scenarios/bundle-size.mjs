// Bundle size of the browser SDK: the served bundle (/sdk/samsa.js, everything) and, per entry point, a tree-shaken
// app importing what an app of that kind imports (packages/client-browser/scripts/bundle-apps.mjs), minified ESM,
// raw and gzipped. The same measurement is what packages/client-browser/src/bundle-budget.test.ts holds to the
// budgets in packages/client-browser/bundle-budget.json.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { measureBundleApps } from '../../packages/client-browser/scripts/bundle-measure.mjs'

const root = fileURLToPath(new URL('../../', import.meta.url))

export async function bundleSize() {
  const served = await readFile(`${root}packages/client-browser/dist/samsa.js`)
  return {
    scenario: 'bundle',
    served: { file: 'packages/client-browser/dist/samsa.js', bytes: served.length, gzipBytes: gzipSync(served, { level: 9 }).length },
    apps: await measureBundleApps(),
    aimGzipBytes: { full: 20 * 1024, consumer: 12 * 1024 },
  }
}
