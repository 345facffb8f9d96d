/**
 * What the Node programs' command lines share: parsing with `node:util` parseArgs, `--help`, and
 * turning a bad option or a failed start into one line on stderr and exit code 2 or 1.
 */
import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'

export class UsageError extends Error {
  static override name = 'UsageError'
  override name = 'UsageError'
}

type OptionsSpec = Record<string, { type: 'string' | 'boolean', short?: string }>

/** The values of a parsed command line: strings for string options, booleans for flags. */
export type CliValues<O extends OptionsSpec> = { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string }

export interface CliSpec<O extends OptionsSpec> {
  usage: string
  options: O
}

export function parseCli<const O extends OptionsSpec> (spec: CliSpec<O>, argv = process.argv.slice(2)): CliValues<O> {
  let values: Record<string, string | boolean | Array<string | boolean> | undefined>
  try {
    const options: ParseArgsConfig['options'] = { ...spec.options, help: { type: 'boolean', short: 'h' } }
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see --help)`)
  }
  if (values.help === true) {
    process.stdout.write(spec.usage)
    process.exit(0)
  }
  return values as CliValues<O>
}

export function parsePort (value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`${option} must be a port number 0-65535, not ${JSON.stringify(value)}`)
  return port
}

/** Runs a program's main; any error becomes one line that says what to do. */
export function runMain (name: string, main: () => Promise<void>): void {
  main().catch((err: Error) => {
    process.stderr.write(`${name}: ${err.message}\n`)
    process.exit(err instanceof UsageError ? 2 : 1)
  })
}
