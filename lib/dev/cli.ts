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
