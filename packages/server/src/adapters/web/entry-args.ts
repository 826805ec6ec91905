/** @module The command line of a runtime entry (bun, deno): `--data-dir DIR [--host H] [--port N]`. A bad line throws with what is wrong. */

export interface EntryArgs {
  readonly dataDir: string
  readonly host: string
  readonly port: number
}

export function parseEntryArgs(argv: readonly string[], command: string): EntryArgs {
  const values = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    const [name, inline] = flag.split('=', 2)
    if (name !== '--data-dir' && name !== '--host' && name !== '--port') throw new Error(`${command}: unknown option ${flag} (usage: ${command} --data-dir DIR [--host 127.0.0.1] [--port 8080])`)
    const value = inline ?? argv[++i]
    if (value === undefined || value === '') throw new Error(`${command}: ${name} needs a value`)
    values.set(name, value)
  }
  const dataDir = values.get('--data-dir')
  if (dataDir === undefined) throw new Error(`${command}: --data-dir DIR is required`)
  const port = Number(values.get('--port') ?? '8080')
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${command}: --port must be an integer from 0 to 65535, got ${values.get('--port')}`)
  return { dataDir, host: values.get('--host') ?? '127.0.0.1', port }
}
