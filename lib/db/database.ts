/**
 * The database as the routes meet it: a lifespan that owns the instance's pool (created when
 * the instance starts, closed when it stops), and the dependencies that hand a request the
 * pool or one pooled connection, released after the response.
 */
import { readFunctionConfig } from '../config.ts'
import { depends } from '../http/depends.ts'
import { HttpError } from '../http/errors.ts'
import { lifespan } from '../http/lifespan.ts'
import { readStaleAfterMs } from '../http/stale-cache.ts'
import { log } from '../log.ts'
import { configureDriver } from './driver.ts'
import { createPool, dropConnecting, type Pool } from './pool.ts'
import { Resilience } from './resilience.ts'
import { distrustIdle, Session, type Target } from './session.ts'
import { sharedStatus } from './shared-status.ts'
import { databaseLabel } from '../trace.ts'

export const database = lifespan('database', async function* ({ env, shared }) {
  const config = readFunctionConfig(env)
  await configureDriver(config.driver)
  // A probe is given the stale budget: once the database is known to be down, a request answers within it.
  const staleAfterMs = readStaleAfterMs(env)
  const settings = { ...config.resilience, probeTimeoutMs: staleAfterMs }
  // Each database has a pool and a breaker of its own: one database's outage says nothing of
  // the other's. Found back, a database's connections still being opened from the outage are
  // ended, so that requests do not wait behind them, and its idle ones are pinged before use.
  const target = (url: string, name: string): Target => {
    const pool = createPool({ url, ...config.pool })
    const recovered = () => {
      distrustIdle(pool)
      const dropped = dropConnecting(pool)
      if (dropped > 0) log('info', 'database connections from the outage ended', { database: name, dropped })
    }
    return { pool, resilience: new Resilience({ ...settings, name }, shared && sharedStatus(shared, name), recovered), label: databaseLabel(url) }
  }
  const { pool, resilience, label } = target(config.databaseUrl, 'primary')
  const replica = config.replicaUrl === undefined ? undefined : target(config.replicaUrl, 'replica')
  // What other instances know already, learnt as this one starts (Lambda's init), not by its first requests' timeouts.
  await Promise.all([resilience.sync(), replica?.resilience.sync()])
  try {
    yield { pool, resilience, label, replica, idleCheckMs: config.pool.idleCheckMillis, pingTimeoutMs: config.pool.pingTimeoutMillis, staleAfterMs }
  } finally {
    await Promise.all([pool.end(), replica?.pool.end()])
  }
}, { secrets: ['DatabaseUrl', 'DatabaseReplicaUrl', 'RedisUrl'] })

/** The instance's pool, for one-shot queries (`pool.query` takes and returns a connection). */
export const dbPool = depends({ name: 'dbPool', lifespans: [database] }, (_, scope): Pool => scope.state(database).pool)

/**
 * Whether the instance is degrading answers: its database is taken for down (by this
 * instance or, through the shared status, by another), or it answered stale or 503 lately
 * (a full pool, say). What `/health` reports; it needs no statement to know.
 */
export const degraded = depends({ name: 'degraded', lifespans: [database] }, async (_, scope): Promise<boolean> => {
  const { resilience } = scope.state(database)
  await resilience.sync()
  return resilience.state !== 'closed' || scope.degradedLately
})

/** Methods that change nothing: their reads may wait for the database to the deadline (or answer stale at their budget). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * The request's database session (FastAPI's `db_conn`): one pooled connection, taken on the
 * first statement, with retries inside the request's deadline, released after the response.
 * A request that changes data waits for a connection, or a read, at most the stale budget:
 * then it answers 503 with Retry-After, nothing sent, rather than at its deadline.
 */
export const dbConn = depends({ name: 'dbConn', lifespans: [database] }, async function* (_, scope) {
  const { pool, resilience, label, replica, idleCheckMs, pingTimeoutMs, staleAfterMs } = scope.state(database)
  const waitBudgetMs = SAFE_METHODS.has(scope.context.req.method) ? undefined : staleAfterMs
  const session = new Session({ pool, resilience, label, replica, idleCheckMs, pingTimeoutMs, waitBudgetMs, remainingMs: () => scope.remainingMs(), metrics: scope.metrics, tracer: scope.tracer, abandoned: scope.databaseSignal })
  let failed = false
  try {
    yield session
  } catch (error) {
    // An HTTP answer (404, 403, 503) leaves the connection as it was; anything else may have
    // left it mid-transaction or broken, so it is closed rather than reused.
    failed = !(error instanceof HttpError)
    throw error
  } finally {
    session.release(failed)
  }
})

export type { Session }
