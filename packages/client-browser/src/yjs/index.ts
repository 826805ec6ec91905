/**
 * @module @samsa/client-browser/yjs: a Yjs provider over Samsa topics. Needs the peer dependencies `yjs` and
 * `y-protocols`; the core SDK (`@samsa/client-browser`) does not import this module.
 */
export { SamsaYjsProvider, YjsGapError, type SamsaYjsProviderOptions, type SamsaYjsProviderEvents } from './provider.js'
export { indexedDbDocStore, memoryDocStore, type YjsDocStore, type StoredDocState, type IndexedDbDocStoreOptions } from './doc-store.js'
export { YjsHeaders, type Snapshot } from './records.js'
