/**
 * One-line logs for the Node programs: `2026-11-23T18:00:00.000Z INFO signaller: text`.
 * Errors go to stderr, the rest to stdout, so `docker logs` and a terminal show both.
 */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export interface Log {
  error (text: string): void
  warn (text: string): void
  info (text: string): void
  debug (text: string): void
}

export function isLogLevel (value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value)
}

export function createLog (component: string, level: LogLevel = 'info'): Log {
  const threshold = LOG_LEVELS.indexOf(level)
  const write = (at: LogLevel) => (text: string): void => {
    if (LOG_LEVELS.indexOf(at) > threshold) return
    const line = `${new Date().toISOString()} ${at.toUpperCase()} ${component}: ${text}\n`
    if (at === 'error') process.stderr.write(line)
    else process.stdout.write(line)
  }
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') }
}
