/**
 * @module The apps whose bundle sizes are measured (bench `bundle`) and budgeted (src/bundle-budget.test.ts): one per
 * entry point (and with IndexedDB storage added), each importing what an app of that kind imports and keeping it
 * alive on globalThis, so tree-shaking leaves exactly what it needs. Imports go through the package name, so the
 * package's `exports` map (and `sideEffects: false`) is what is measured.
 */
const app = (name, imports) => {
  const names = Object.values(imports).flat()
  const lines = Object.entries(imports).map(([specifier, n]) => `import { ${n.join(', ')} } from '${specifier}'`)
  return { name, imports: lines.join('; '), source: `${lines.join('\n')}\nglobalThis.app = [${names.join(', ')}]\n` }
}

const IDB = { '@samsa/client-browser/indexeddb': ['indexedDbStorage'] }

export const BUNDLE_APPS = [
  app('full', { '@samsa/client-browser': ['createClient'] }),
  app('core', { '@samsa/client-browser/core': ['createClient'] }),
  app('core + indexeddb', { '@samsa/client-browser/core': ['createClient'], ...IDB }),
  app('producer', { '@samsa/client-browser/producer': ['createProducerClient'] }),
  app('producer + indexeddb', { '@samsa/client-browser/producer': ['createProducerClient'], ...IDB }),
  app('consumer', { '@samsa/client-browser/consumer': ['createConsumerClient'] }),
  app('consumer + indexeddb', { '@samsa/client-browser/consumer': ['createConsumerClient'], ...IDB }),
  app('groups', { '@samsa/client-browser/groups': ['createClient'] }),
  app('groups consumer', { '@samsa/client-browser/groups': ['createGroupConsumerClient'] }),
]
