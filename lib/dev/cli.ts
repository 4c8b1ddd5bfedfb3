import { ConfigError } from '../config.ts'

/** A port a tool could not listen on, named by the variable that sets it. */
export function cannotListen(variable: string, port: number, error: unknown): ConfigError {
  const { code, message } = error as NodeJS.ErrnoException
  const reason = code === 'EADDRINUSE' ? 'already in use' : (code ?? message)
  return new ConfigError(variable, `cannot listen on 127.0.0.1:${port} (${reason})`)
}

/**
 * How the command-line tools end on failure: one line that says what is wrong (naming the
 * variable for a configuration problem), no stack trace unless DEBUG is set, exit code 1.
 */
export function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error)
  console.error(`error: ${message.split('\n')[0]}`)
  if (process.env.DEBUG && error instanceof Error && error.stack) console.error(error.stack)
  process.exit(1)
}

export type StopStep = () => Promise<void> | void

/**
 * How the long-running tools stop: on Ctrl-C (SIGINT), SIGTERM, or SIGHUP (the terminal went
 * away: SST's multiplexer closes a dev command's pane so), the steps added to the list
 * run in reverse order of adding (last started, first stopped), then "stopped" and exit 0. A
 * second Ctrl-C while stopping forces the exit; a SIGTERM or SIGHUP then does not, since SST
 * sends both when it closes a pane, and the steps (PGlite writing its data out) must finish.
 * Returns the list to add steps to.
 */
export function stopOnSignals(): StopStep[] {
  const steps: StopStep[] = []
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) {
      if (signal !== 'SIGINT') return
      console.log('forced exit')
      process.exit(130)
    }
    stopping = true
    // After a hang-up the terminal is gone: a line that cannot be written must not end the stop.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined)
    console.log(`\n${signal}: stopping`)
    for (const step of steps.reverse()) await step()
    console.log('stopped')
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGHUP', () => void stop('SIGHUP'))
  return steps
}
