/**
 * @module Imports every entry point of `@samsa/client-browser` a Worker may use, by package name, for the Worker
 * bundle check in sdk-client.test.ts (bundled with the `workerd` condition: none may reach a `node:` module or `ws`).
 * Not here: `./testing` (Node only: its fake broker listens with `ws`) and `./samsa.iife.js` (a classic script). The
 * test checks this list against the package's `exports`.
 */
export * as main from '@samsa/client-browser'
export * as core from '@samsa/client-browser/core'
export * as producer from '@samsa/client-browser/producer'
export * as consumer from '@samsa/client-browser/consumer'
export * as indexeddb from '@samsa/client-browser/indexeddb'
export * as yjs from '@samsa/client-browser/yjs'
export * as module from '@samsa/client-browser/samsa.js'
export * as groups from '@samsa/client-browser/groups'
export * as groupsModule from '@samsa/client-browser/samsa-groups.js'
