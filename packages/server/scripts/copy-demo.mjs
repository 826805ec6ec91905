/** @module Copies the demo page (apps/demo/index.html) into packages/server/demo/, so the published @samsa/server serves it at /. */
import { copyFileSync, mkdirSync } from 'node:fs'

const target = new URL('../demo/', import.meta.url)
mkdirSync(target, { recursive: true })
copyFileSync(new URL('../../../apps/demo/index.html', import.meta.url), new URL('index.html', target))
