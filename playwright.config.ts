/**
 * Playwright e2e suite (e2e/*.spec.ts) in Debian's Chromium (/usr/bin/chromium; never `npx playwright install`).
 * Each spec starts its own broker child process behind a TCP proxy (test/support/tcp-proxy.ts); build first
 * (`npm run build`): the pages load the SDK bundle the broker serves at /sdk/samsa.js.
 */
import { defineConfig } from '@playwright/test'

export const CHROMIUM = process.env.SAMSA_CHROMIUM ?? '/usr/bin/chromium'

export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  globalTimeout: 15 * 60_000,
  outputDir: 'test-results/e2e',
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
    actionTimeout: 15_000,
    navigationTimeout: 20_000,
    trace: 'off',
    screenshot: 'off',
    video: 'off',
  },
})
