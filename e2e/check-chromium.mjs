#!/usr/bin/env node
// Stops the e2e suite with one clear line when Debian's Chromium is missing (Playwright's own browsers are never downloaded).
import { accessSync, constants } from 'node:fs'

const path = process.env.SAMSA_CHROMIUM ?? '/usr/bin/chromium'
try {
  accessSync(path, constants.X_OK)
} catch {
  console.error(`e2e: Chromium not found at ${path}; install it (as root) with: apt-get update && apt-get install -y chromium`)
  process.exit(1)
}
