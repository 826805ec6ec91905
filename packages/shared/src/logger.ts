/** @module Logger: the structured-logging port every package receives as a dependency (pino-compatible: fields first, message second). */

export interface Logger {
  debug(fields: object, msg?: string): void
  info(fields: object, msg?: string): void
  warn(fields: object, msg?: string): void
  error(fields: object, msg?: string): void
  child(bindings: object): Logger
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger
  },
}
