/** @module Errors the CLI prints as one clear line. */
import { SamsaError } from '@samsa/shared'

export class CliError extends Error {
  static describe(err: unknown): string {
    if (err instanceof SamsaError) return `${err.errorName}: ${err.message}`
    if (err instanceof Error) return err.message
    return String(err)
  }
}
