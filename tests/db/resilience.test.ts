/**
 * The database layer under faults, against a real database through the Neon driver: the
 * pool exhausted, a backend killed, SQL errors, the breaker. No mocked driver.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import type { PoolClient } from '@neondatabase/serverless'
import { classifyFailure, isRetryable } from '../../lib/db/failures.ts'
import { createPool, type Pool } from '../../lib/db/pool.ts'
import { DatabaseUnavailable, Resilience } from '../../lib/db/resilience.ts'
import { Session } from '../../lib/db/session.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { externalUrl, startTestDatabase, uniqueName } from '../support/database.ts'
import { captureLogs } from '../support/logs.ts'

const quick = { initialDelayMs: 20, maxDelayMs: 100, reserveMs: 50 }

describe('classifying failures', () => {
  it('names what happened from the error and the phase', () => {
    assert.equal(classifyFailure(new Error('timeout exceeded when trying to connect'), 'acquire'), 'pool_timeout')
    assert.equal(classifyFailure({ type: 'error', message: 'Unexpected server response: 502' }, 'acquire'), 'connect_failed')
    assert.equal(classifyFailure(Object.assign(new Error('duplicate key'), { code: '23505' }), 'query'), 'query_error')
    assert.equal(classifyFailure(Object.assign(new Error('terminating connection'), { code: '57P01' }), 'query'), 'connection_lost')
    assert.equal(classifyFailure(new Error('Query read timeout'), 'query'), 'query_timeout')
    assert.equal(classifyFailure(new Error('Connection terminated unexpectedly'), 'query'), 'connection_lost')
    assert.equal(classifyFailure(Object.assign(new Error('open'), { isBrokenCircuitError: true }), 'acquire'), 'circuit_open')
    assert.equal(classifyFailure(Object.assign(new Error('could not serialize access'), { code: '40001' }), 'query'), 'conflict')
    assert.equal(classifyFailure(Object.assign(new Error('deadlock detected'), { code: '40P01' }), 'query'), 'conflict')
  })

  it('retries a write only when it never reached the database', () => {
    assert.equal(isRetryable('pool_timeout', 'write'), true)
    assert.equal(isRetryable('connect_failed', 'write'), true)
    assert.equal(isRetryable('connection_lost', 'write'), false)
    assert.equal(isRetryable('query_timeout', 'write'), false)
    assert.equal(isRetryable('connection_lost', 'read'), true)
    assert.equal(isRetryable('query_error', 'read'), false)
    // Rolled back by the database: safe to run again, write or not.
    assert.equal(isRetryable('conflict', 'write'), true)
  })
})

describe('a session under faults', () => {
  let database: DevDatabase
  let pool: Pool
  const table = uniqueName('resilience_t')

  before(async () => {
    database = await startTestDatabase()
    const setup = createPool({ url: database.url, max: 1 })
    await setup.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text)`)
    await setup.end()
    // The tests need a pool that gives up in 150 ms; its one connection is opened here, with
    // time to spare on a loaded machine (where opening one took longer), and kept for them.
    pool = createPool({ url: database.url, max: 1, connectionTimeoutMillis: 150 })
    for (let tries = 1; ; tries++) {
      try {
        await pool.query('SELECT 1')
        break
      } catch (error) {
        if (tries === 50) throw error
      }
    }
  })
  after(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined)
    await pool.end()
    await database.close()
  })

  // Every session is released after its test, as the dbConn dependency does after a response:
  // a connection that arrives for a request that already gave up then goes back to the pool.
  const open: Session[] = []
  afterEach(() => {
    for (const item of open.splice(0)) item.release()
  })
  const session = (resilience: Resilience, budgetMs = 2_000, idleCheckMs = 30_000) => {
    const deadline = Date.now() + budgetMs
    const created = new Session({ pool, resilience, idleCheckMs, pingTimeoutMs: 1_000, remainingMs: () => deadline - Date.now() })
    open.push(created)
    return created
  }

  /** Holds the pool's only connection until released. */
  async function exhaust(): Promise<PoolClient> {
    return pool.connect()
  }

  it('retries a read while the pool is exhausted, and succeeds once a connection is free', async () => {
    const held = await exhaust()
    const logs = captureLogs()
    const release = setTimeout(() => held.release(), 300)
    const s = session(new Resilience({ ...quick, maxAttempts: 10 }))
    try {
      const { rows } = await s.read<{ one: number }>('SELECT 1 AS one')
      assert.deepEqual(rows, [{ one: 1 }])
    } finally {
      s.release()
      clearTimeout(release)
      logs.restore()
    }
    const retries = logs.entries.filter((entry) => entry.message === 'database retry')
    assert.ok(retries.length >= 1, 'at least one retry was logged')
    assert.equal(retries[0]?.kind, 'pool_timeout')
  })

  it('answers 503 with Retry-After within the deadline when the pool stays exhausted', async () => {
    const held = await exhaust()
    const logs = captureLogs()
    const started = Date.now()
    try {
      const s = session(new Resilience({ ...quick, maxAttempts: 10, cooldownMs: 3_000 }), 1_000)
      await assert.rejects(s.read('SELECT 1'), (error: unknown) => {
        assert.ok(error instanceof DatabaseUnavailable)
        assert.equal(error.status, 503)
        assert.equal(error.headers['retry-after'], '3')
        return true
      })
      s.release()
    } finally {
      held.release()
      logs.restore()
    }
    assert.ok(Date.now() - started < 1_000 + 400, `gave up within the 1 s budget (took ${Date.now() - started} ms)`)
  })

  it('does not apply a write that could not get a connection', async () => {
    const held = await exhaust()
    const logs = captureLogs()
    try {
      const s = session(new Resilience(quick), 600)
      await assert.rejects(s.write(`INSERT INTO ${table} VALUES (1, 'never')`), DatabaseUnavailable)
      s.release()
    } finally {
      held.release()
      logs.restore()
    }
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = 1`)
    assert.equal(rows[0].n, 0)
  })

  it('passes an SQL error through as it is, without retrying it', async () => {
    const resilience = new Resilience(quick)
    const s = session(resilience)
    await s.write(`INSERT INTO ${table} VALUES (2, 'first')`)
    const logs = captureLogs()
    try {
      await assert.rejects(s.write(`INSERT INTO ${table} VALUES (2, 'again')`), (error: unknown) => (error as { code?: string }).code === '23505')
    } finally {
      s.release()
      logs.restore()
    }
    assert.equal(logs.entries.filter((entry) => entry.message === 'database retry').length, 0)
  })

  it('does not count a pool busy with the instance\'s own requests as an outage: retried, then 503, the breaker closed', async () => {
    const resilience = new Resilience({ ...quick, maxAttempts: 3, breakAfter: 1 })
    const holder = session(resilience)
    await holder.read('SELECT 1') // holds the pool's only connection, as a request does until its response
    const logs = captureLogs()
    try {
      await assert.rejects(session(resilience, 600).read('SELECT 1'), (error: unknown) => {
        assert.ok(error instanceof DatabaseUnavailable)
        assert.equal(error.kind, 'pool_exhausted')
        assert.ok(error.headers['retry-after'])
        return true
      })
    } finally {
      logs.restore()
    }
    assert.equal(resilience.state, 'closed')
    assert.deepEqual(new Set(logs.entries.filter((entry) => entry.message === 'database retry').map((entry) => entry.kind)), new Set(['pool_exhausted']))
    assert.equal(logs.entries.filter((entry) => entry.message === 'database circuit breaker').length, 0)
    // Handed back before the request ends, the connection serves another meanwhile; the holder takes one again after.
    holder.releaseConnection()
    const other = session(resilience)
    assert.deepEqual((await other.read('SELECT 2 AS two')).rows, [{ two: 2 }])
    other.release()
    assert.deepEqual((await holder.read('SELECT 3 AS three')).rows, [{ three: 3 }])
  })

  it('opens the breaker after repeated outages, then fails at once, and closes after a good probe', async () => {
    const resilience = new Resilience({ ...quick, maxAttempts: 1, breakAfter: 2, cooldownMs: 300 })
    const held = await exhaust()
    const logs = captureLogs()
    try {
      for (let i = 0; i < 2; i++) {
        const s = session(resilience)
        await assert.rejects(s.read('SELECT 1'), DatabaseUnavailable)
        s.release()
      }
      assert.equal(resilience.state, 'open')
      const started = Date.now()
      await assert.rejects(session(resilience).read('SELECT 1'), (error: unknown) => error instanceof DatabaseUnavailable && error.kind === 'circuit_open')
      assert.ok(Date.now() - started < 250, 'an open breaker answers without waiting for the pool')
      held.release()
      await new Promise((resolve) => setTimeout(resolve, 350))
      const probe = session(resilience)
      assert.deepEqual((await probe.read('SELECT 2 AS two')).rows, [{ two: 2 }])
      probe.release()
      assert.equal(resilience.state, 'closed')
    } finally {
      logs.restore()
    }
    assert.deepEqual(
      logs.entries.filter((entry) => entry.message === 'database circuit breaker').map((entry) => entry.state),
      ['Open', 'HalfOpen', 'Closed'],
    )
  })
})

describe('connections killed under the pool', { skip: externalUrl === undefined && 'needs a PostgreSQL server (DATABASE_URL): PGlite has one backend' }, () => {
  let database: DevDatabase
  let pool: Pool
  let admin: Pool

  before(async () => {
    database = await startTestDatabase()
    pool = createPool({ url: database.url, max: 1, connectionTimeoutMillis: 1_000 })
    admin = createPool({ url: database.url, max: 1 })
  })
  after(async () => {
    await pool.end()
    await admin.end()
    await database.close()
  })

  it('survives an idle backend killed with pg_terminate_backend: no crash, and the next read succeeds', async () => {
    const resilience = new Resilience(quick)
    const first = new Session({ pool, resilience, idleCheckMs: 0, pingTimeoutMs: 1_000, remainingMs: () => 2_000 })
    const { rows } = await first.read<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    first.release()
    const logs = captureLogs()
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid])
      await new Promise((resolve) => setTimeout(resolve, 200))
      const next = new Session({ pool, resilience, idleCheckMs: 0, pingTimeoutMs: 1_000, remainingMs: () => 2_000 })
      const answer = await next.read<{ pid: number }>('SELECT pg_backend_pid() AS pid')
      next.release()
      assert.notEqual(answer.rows[0]?.pid, rows[0]?.pid, 'a new backend answered')
    } finally {
      logs.restore()
    }
  })

  it('does not retry a write whose connection died mid-statement', async () => {
    const resilience = new Resilience(quick)
    const s = new Session({ pool, resilience, idleCheckMs: 30_000, pingTimeoutMs: 1_000, remainingMs: () => 5_000 })
    const { rows } = await s.read<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    const logs = captureLogs()
    try {
      const write = s.write('SELECT pg_sleep(2)')
      setTimeout(() => void admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]), 200)
      await assert.rejects(write, (error: unknown) => error instanceof DatabaseUnavailable && error.kind === 'connection_lost')
    } finally {
      s.release(true)
      logs.restore()
    }
    assert.equal(logs.entries.filter((entry) => entry.message === 'database retry').length, 0)
  })
})
