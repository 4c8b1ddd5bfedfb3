/**
 * `npm run dev:db`: the database of `sst dev`, which starts it as a DevCommand (infra/dev.ts)
 * on the ports that the functions it runs locally are linked to (PGLITE_PORT, WS_PROXY_PORT).
 * The embedded PGlite, or DATABASE_URL's server, behind the local Neon WebSocket proxy,
 * migrated, with the first super_admin; it serves until Ctrl-C or SIGTERM, then closes in
 * reverse order as `npm run dev` does.
 */
import { readDevConfig } from '../config.ts'
import { fail, stopOnSignals } from './cli.ts'
import { prepareDevDatabase } from './setup.ts'

async function main(): Promise<void> {
  const startedAt = performance.now()
  const config = readDevConfig(process.env)
  const stops = stopOnSignals()
  await prepareDevDatabase(config, stops)
  console.log(`ready in ${((performance.now() - startedAt) / 1000).toFixed(1)}s; Ctrl-C stops`)
}

main().catch(fail)
