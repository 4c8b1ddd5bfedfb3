/**
 * The read fallback chain with a read replica (DATABASE_REPLICA_URL): primary with retries →
 * replica → the last good answer from the cache → 503. Each database sits behind a fault
 * proxy of its own, so either can be cut off; writes never go to the replica.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { DevDatabase } from '../../lib/dev/database.ts'
import type { FaultProxy } from '../../lib/dev/fault-proxy.ts'
import { createPool } from '../../lib/db/pool.ts'
import { DatabaseUnavailable, Resilience } from '../../lib/db/resilience.ts'
import { Session } from '../../lib/db/session.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { getUser } from '../support/routes.ts'
import { seedUsers, startTestDatabase, TEST_JWT_SECRET, uniqueName } from '../support/database.ts'
import { bearer, createUser } from '../support/auth.ts'
import { behindFaultProxies, type FaultyPaths } from '../../lib/dev/faults.ts'
import { invoke } from '../support/invoke.ts'
import { captureLogs } from '../support/logs.ts'

describe('a read replica between the primary and the cache', () => {
  let database: DevDatabase
  let primary: FaultProxy
  let replica: FaultProxy
  let paths: FaultyPaths
  let fn: LambdaFunction
  let ids: number[] = []
  let headers: Record<string, string>
  const through = (proxy: FaultProxy) => paths.urlThrough(proxy)

  before(async () => {
    database = await startTestDatabase()
    paths = await behindFaultProxies(database, 2)
    ;[primary, replica] = paths.proxies as [FaultProxy, FaultProxy]
    ids = await seedUsers(database.url, ['cached', 'first_seen', 'never_seen'])
    headers = await bearer((await createUser(database.url, { prefix: 'admin', role: 'super_admin' })).id)
    fn = await lambdaFunction(getUser, {
      env: {
        JWT_SECRET: TEST_JWT_SECRET,
        DATABASE_URL: through(primary),
        DATABASE_REPLICA_URL: through(replica),
        DATABASE_WS_PROXY: paths.ws.address,
        DATABASE_CONNECT_TIMEOUT_MS: '300',
        DATABASE_QUERY_TIMEOUT_MS: '500',
        DATABASE_RETRY_ATTEMPTS: '2',
        DATABASE_BREAKER_THRESHOLD: '3',
        DATABASE_BREAKER_COOLDOWN_MS: '60000',
      },
    })
  })
  after(async () => {
    await fn?.shutdown()
    await paths?.close()
    await database?.close()
  })

  const read = (id: number) => invoke(fn.handler, { method: 'GET', route: '/users/{id}', path: `/users/${id}`, headers })

  it('answers reads from the replica while the primary is cut off, then from the cache when both are', async () => {
    const [cached, firstSeen, neverSeen] = ids as [number, number, number]
    const fresh = await read(cached)
    assert.equal(fresh.status, 200)

    const logs = captureLogs()
    primary.setMode('blackhole')
    try {
      // Fresh answers, with no Age: the replica answered, not the cache (this user was never read before).
      for (const id of [firstSeen, cached]) {
        const answer = await read(id)
        assert.equal(answer.status, 200, answer.body)
        assert.equal(answer.headers.age, undefined)
        assert.equal(answer.headers['cache-status'], undefined)
      }
      assert.ok(logs.entries.some((entry) => entry.message === 'database read from replica'))
      assert.ok(logs.entries.some((entry) => entry.message === 'request' && entry.db_source === 'replica' && entry.stale === 0))

      // Then the replica goes too: the cache, then 503.
      replica.setMode('blackhole')
      const stale = await read(cached)
      assert.equal(stale.status, 200)
      assert.equal(stale.body, fresh.body)
      assert.match(stale.headers['cache-status'] ?? '', /^users-api; hit; ttl=-?\d+$/)
      assert.ok(stale.headers.age !== undefined)
      const none = await read(neverSeen)
      assert.equal(none.status, 503)
      assert.ok(none.headers['retry-after'])
      assert.ok(logs.entries.some((entry) => entry.message === 'database unavailable' && entry.database === 'replica'))
    } finally {
      primary.setMode('forward')
      replica.setMode('forward')
      logs.restore()
    }
  })

  it('never sends a write to the replica: with the primary cut off it fails and is not applied', async () => {
    const primaryPool = createPool({ url: through(primary), max: 1, connectionTimeoutMillis: 200 })
    const replicaPool = createPool({ url: through(replica), max: 1, connectionTimeoutMillis: 200 })
    const quick = { initialDelayMs: 20, maxDelayMs: 50, reserveMs: 50 }
    const deadline = Date.now() + 1_500
    const session = new Session({
      pool: primaryPool,
      resilience: new Resilience(quick),
      replica: { pool: replicaPool, resilience: new Resilience({ ...quick, name: 'replica' }) },
      idleCheckMs: 30_000,
      pingTimeoutMs: 200,
      remainingMs: () => deadline - Date.now(),
    })
    const name = uniqueName('replica_write')
    primary.setMode('refuse')
    try {
      // A read in the same request is served by the replica...
      const { rows } = await session.read<{ one: number }>('SELECT 1 AS one')
      assert.deepEqual(rows, [{ one: 1 }])
      // ...but a write is not: it fails as unavailable.
      await assert.rejects(
        session.write(`INSERT INTO users (username, email, password_hash) VALUES ($1, $2, 'x')`, [name, `${name}@example.com`]),
        (error: unknown) => error instanceof DatabaseUnavailable && error.status === 503,
      )
    } finally {
      session.release()
      primary.setMode('forward')
      await Promise.all([primaryPool.end(), replicaPool.end()])
    }
    const check = createPool({ url: database.url, max: 1 })
    try {
      const { rows } = await check.query('SELECT count(*)::int AS n FROM users WHERE username = $1', [name])
      assert.equal(rows[0].n, 0, 'the write was not applied anywhere')
    } finally {
      await check.end()
    }
  })
})
