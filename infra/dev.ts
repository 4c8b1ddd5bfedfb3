/**
 * `sst dev` without a cloud database: SST's own DevCommand starts `npm run dev:db`'s program (the
 * embedded PGlite, or DATABASE_URL's server, with the local Neon WebSocket proxy, the
 * migrations and the first super_admin) in its multiplexer, and the functions that `sst dev`
 * runs on this machine are linked to it, under the names they read deployed. Created only
 * in dev mode: a deploy has none of it.
 */
import type { DevDatabase } from './settings'
import type { Links } from './secrets'

/**
 * `npm run dev:db`'s program, run directly: SST stops a dev command by signalling the process
 * it started (SIGTERM, then its terminal hangs up), and npm exits on SIGTERM without passing it
 * on, which would leave the database running on its ports.
 */
export const DEV_DATABASE_COMMAND = 'node --import tsx lib/dev/db.ts'

export function createDevDatabase(database: DevDatabase): Pick<Links, 'DatabaseUrl' | 'DatabaseWsProxy'> {
  new sst.x.DevCommand('Database', {
    dev: { title: 'Database', command: DEV_DATABASE_COMMAND, autostart: true },
    environment: database.environment,
  })
  // Kept encrypted in the stage's state, as a secret's value is: a DATABASE_URL may hold a password.
  const url = new sst.Linkable('DatabaseUrl', { properties: { value: $util.secret(database.url) } })
  if (database.wsProxy === undefined) return { DatabaseUrl: url }
  return { DatabaseUrl: url, DatabaseWsProxy: new sst.Linkable('DatabaseWsProxy', { properties: { value: database.wsProxy } }) }
}
