/**
 * `sst dev` without a cloud database: SST's own DevCommand starts `npm run dev:db` (the
 * embedded PGlite, or DATABASE_URL's server, with the local Neon WebSocket proxy, the
 * migrations and the first super_admin) in its multiplexer, and the functions that `sst dev`
 * runs on this machine are linked to it, under the names they read deployed. Created only
 * in dev mode: a deploy has none of it.
 */
import type { DevDatabase } from './settings'
import type { Links } from './secrets'

export function createDevDatabase(database: DevDatabase): Pick<Links, 'DatabaseUrl' | 'DatabaseWsProxy'> {
  new sst.x.DevCommand('Database', {
    dev: { title: 'Database', command: 'npm run dev:db', autostart: true },
    environment: database.environment,
  })
  const url = new sst.Linkable('DatabaseUrl', { properties: { value: database.url } })
  if (database.wsProxy === undefined) return { DatabaseUrl: url }
  return { DatabaseUrl: url, DatabaseWsProxy: new sst.Linkable('DatabaseWsProxy', { properties: { value: database.wsProxy } }) }
}
