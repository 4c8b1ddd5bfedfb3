/**
 * The database as the routes meet it: a lifespan that owns the instance's pool (created when
 * the instance starts, closed when it stops), and the dependencies that hand a request the
 * pool or one pooled connection, released after the response.
 */
import type { PoolClient } from '@neondatabase/serverless'
import { readFunctionConfig } from '../config.ts'
import { depends } from '../http/depends.ts'
import { HttpError } from '../http/errors.ts'
import { lifespan } from '../http/lifespan.ts'
import { configureDriver } from './driver.ts'
import { createPool, type Pool } from './pool.ts'

export const database = lifespan('database', async function* ({ env }) {
  const config = readFunctionConfig(env)
  await configureDriver(config.driver)
  const pool = createPool({ url: config.databaseUrl })
  try {
    yield { pool }
  } finally {
    await pool.end()
  }
})

/** The instance's pool, for one-shot queries (`pool.query` takes and returns a connection). */
export const dbPool = depends({ name: 'dbPool', lifespans: [database] }, (_, scope): Pool => scope.state(database).pool)

/** One connection for the whole request (FastAPI's `db_conn`), released after the response. */
export const dbConn = depends({ name: 'dbConn', dependencies: { pool: dbPool } }, async function* ({ pool }) {
  const client: PoolClient = await pool.connect()
  let failed = false
  try {
    yield client
  } catch (error) {
    // An HTTP answer (404, 403) leaves the connection as it was; anything else may have
    // left it mid-transaction or broken, so it is closed rather than reused.
    failed = !(error instanceof HttpError)
    throw error
  } finally {
    client.release(failed)
  }
})

/** What repositories query through: a pool or a single connection. */
export type Queryable = Pick<PoolClient, 'query'>
