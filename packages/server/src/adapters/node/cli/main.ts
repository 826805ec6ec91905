/** @module The `samsa` command line: start a broker, manage topics, produce and consume. */
import { Command } from 'commander'
import { registerStart } from './start-command.js'
import { registerTopics } from './topics-command.js'
import { registerGroups } from './groups-command.js'
import { registerProduce } from './produce-command.js'
import { registerConsume } from './consume-command.js'
import { registerCluster } from './cluster-command.js'
import { registerToken } from './token-command.js'
import { CliError } from './cli-error.js'

const program = new Command()
  .name('samsa')
  .description('Samsa: partitioned, durable append-only logs served over WebSocket')
  .version('0.1.0')
  // Every error is one line on stderr starting with "samsa: ", commander's usage errors included.
  .configureOutput({ outputError: (str, write) => write(`samsa: ${str.replace(/^error: /, '').trimEnd().replace(/\n+/g, ' ')}\n`) })

registerStart(program)
registerTopics(program)
registerGroups(program)
registerProduce(program)
registerConsume(program)
registerCluster(program)
registerToken(program)

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`samsa: ${CliError.describe(err)}\n`)
  process.exit(1)
})
