/** @module @samsa/client-browser/indexeddb: durable storage for the smaller entry points (`storage: indexedDbStorage()`). */
export { indexedDbStorage, AtomicTransactionInactiveError, type IndexedDbStorageOptions, type AppStores } from '../storage/indexeddb-storage.js'
