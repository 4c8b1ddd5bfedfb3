/**
 * The module-scoped pool of a function. It lives as long as the Lambda instance (or the
 * dev server), so connections are opened once and reused across invocations.
 */
import { Pool } from '@neondatabase/serverless'
import { log } from '../log.ts'
import { onTransport } from './transport.ts'

export interface PoolOptions {
  readonly url: string
  /** Lambda runs one request per instance at a time, so a function needs few connections. */
  readonly max?: number
  readonly connectionTimeoutMillis?: number
  readonly idleTimeoutMillis?: number
  /** A statement with no answer in this time fails, so a dead socket cannot hang a request. */
  readonly queryTimeoutMillis?: number
}

export function createPool(options: PoolOptions): Pool {
  const pool = onTransport(new Pool({
    connectionString: options.url,
    max: options.max ?? 2,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 60_000,
    query_timeout: options.queryTimeoutMillis ?? 5_000,
  }))
  // An idle connection that dies (a frozen instance, a restarted server) emits 'error' on
  // the pool; without a listener that would crash the process.
  pool.on('error', function onIdleClientError(error: Error) {
    log('warn', 'idle database connection failed', { error: error.message })
  })
  return pool
}

/** What pg-pool keeps of its connections, read by `dropConnecting` (not part of its typed API). */
interface PoolInternals {
  readonly _clients?: readonly { readonly _connecting?: boolean; readonly _connected?: boolean; readonly connection?: { readonly stream?: { destroy(): void } } }[]
}

/**
 * Ends the connections the pool is still opening. Called when the database is found back
 * after an outage: those were started during it (a silent database holds them until the
 * connect timeout) and hold places in the pool that requests now want. Ended so, as pg-pool's
 * own connect timeout ends one, each fails its wait, and the pool opens a new one for the
 * next waiter. Returns how many were ended.
 */
export function dropConnecting(pool: Pool): number {
  const clients = (pool as unknown as PoolInternals)._clients
  if (!Array.isArray(clients)) return 0
  let dropped = 0
  for (const client of clients) {
    if (client._connecting === true && client._connected !== true && client.connection?.stream !== undefined) {
      client.connection.stream.destroy()
      dropped++
    }
  }
  return dropped
}

export type { Pool }
