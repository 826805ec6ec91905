#!/usr/bin/env node
import('../dist/adapters/node/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('cli/main.js')) {
    process.stderr.write('samsa: the server is not built yet; run `npm run build` in the repository root first.\n')
    process.exit(1)
  }
  throw err
})
