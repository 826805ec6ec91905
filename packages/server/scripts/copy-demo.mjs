/**
 * @module Copies the built demo app (apps/demo/dist: index.html and app/*) into packages/server/demo/, so the
 * published @samsa/server serves it at / and /app/*. Fails when the app is not built.
 */
import { cpSync, existsSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const source = fileURLToPath(new URL('../../../apps/demo/dist/', import.meta.url))
const target = fileURLToPath(new URL('../demo/', import.meta.url))
if (!existsSync(`${source}index.html`)) throw new Error(`${source}index.html is missing: build the demo first (npm run build -w @samsa/demo)`)
rmSync(target, { recursive: true, force: true })
cpSync(source, target, { recursive: true })
