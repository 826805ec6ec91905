#!/usr/bin/env node
// Makes sure Debian's Chromium is there for the e2e suite (Playwright's own browsers are never downloaded):
// as root it installs the `chromium` package with apt-get; otherwise it stops with one line saying how.
import { accessSync, constants } from 'node:fs'
import { spawnSync } from 'node:child_process'

const path = process.env.SAMSA_CHROMIUM ?? '/usr/bin/chromium'
const present = () => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

if (!present()) {
  const howTo = 'apt-get update && apt-get install -y chromium'
  if (process.getuid?.() === 0 && path === '/usr/bin/chromium') {
    console.error(`e2e: Chromium not found at ${path}; installing it: ${howTo}`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const run = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env }).status === 0
    if (!run(['update', '-qq']) || !run(['install', '-y', '-qq', 'chromium']) || !present()) {
      console.error(`e2e: installing Chromium failed; install it yourself with: ${howTo}`)
      process.exit(1)
    }
  } else {
    console.error(`e2e: Chromium not found at ${path}; install it (as root) with: ${howTo}`)
    process.exit(1)
  }
}
