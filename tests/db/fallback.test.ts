/**
 * Degraded reads through a Lambda handler against a real database: while every pooled
 * connection is held, a read that was answered before comes back stale (Age, Cache-Status),
 * one that was not gets 503 with Retry-After, and an answer kept for one authority is never
 * served to another.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as v from 'valibot'
import { dbConn } from '../../lib/db/database.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { depends } from '../../lib/http/depends.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { Hono } from 'hono'
import type { AppEnv } from '../../lib/http/env.ts'
import { needs, responds, staleFallback, validate } from '../../lib/http/route.ts'
import { getMe, getUser, listUsersRoute } from '../support/routes.ts'
import { bearer, createUser, type TestUser } from '../support/auth.ts'
import { createPool } from '../../lib/db/pool.ts'
import { functionEnv, seedUsers, startTestDatabase, uniqueName } from '../support/database.ts'
import { invoke } from '../support/invoke.ts'
import { captureLogs } from '../support/logs.ts'
import { documentCheck, type OpenApiDocument } from '../support/openapi.ts'
import document from '../../lib/generated/openapi.json' with { type: 'json' }
import { REDIS_URL, skipWithoutRedis } from '../support/redis.ts'

/** Takes the pool's only connection and keeps it until the test lets go. */
let letGo: (() => void) | undefined
const release = () => letGo?.()
const hold = new Hono<AppEnv>().get('/hold', needs({ db: dbConn }), async (c) => {
  await c.var.db.read('SELECT 1')
  await new Promise<void>((resolve) => {
    letGo = resolve
  })
  return c.json({ held: true })
})

const role = depends({ name: 'role' }, (_, scope) => scope.request.headers.get('x-role') ?? 'guest')
const report = new Hono<AppEnv>().get('/report', needs({ db: dbConn }), staleFallback(role), responds(v.object({ count: v.number() })), async (c) => {
  const { rows } = await c.var.db.read<{ n: number }>('SELECT count(*)::int AS n FROM users')
  return c.var.respond({ count: rows[0]?.n ?? 0 })
})

/** A write route: takes a note of who asked, in the users table (a row per call). */
const register = new Hono<AppEnv>().post('/register/:name', needs({ db: dbConn }), validate({ param: v.object({ name: v.string() }) }), async (c) => {
  const { name } = c.req.valid('param')
  await c.var.db.write(`INSERT INTO users (username, email, password_hash) VALUES ($1, $2, 'x')`, [name, `${name}@example.com`])
  return c.json({ created: name }, 201)
})

describe('reads while the database is unavailable', () => {
  let database: DevDatabase
  let fn: LambdaFunction
  let ids: number[] = []
  let admin: TestUser
  let asAdmin: Record<string, string>

  before(async () => {
    database = await startTestDatabase()
    ids = await seedUsers(database.url, ['cached', 'uncached'])
    admin = await createUser(database.url, { prefix: 'admin', role: 'super_admin' })
    asAdmin = await bearer(admin.id)
    fn = await lambdaFunction([getMe, getUser, listUsersRoute, hold, report, register], {
      env: {
        ...functionEnv(database),
        DATABASE_POOL_MAX: '1',
        DATABASE_CONNECT_TIMEOUT_MS: '100',
        DATABASE_RETRY_ATTEMPTS: '3',
        DATABASE_BREAKER_THRESHOLD: '1000',
      },
    })
  })
  after(async () => {
    letGo?.()
    await fn?.shutdown()
    await database?.close()
  })

  const getUserEvent = (id: number, headers: Record<string, string> = asAdmin) =>
    invoke(fn.handler, { method: 'GET', route: '/users/{id}', path: `/users/${id}`, headers })
  const listEvent = (headers: Record<string, string>) => invoke(fn.handler, { method: 'GET', route: '/users', path: '/users', headers })
  const meEvent = (headers: Record<string, string>) => invoke(fn.handler, { method: 'GET', route: '/users/me', path: '/users/me', headers })

  /** Holds the pool's only connection (every read now times out) while `work` runs. */
  async function whileExhausted(work: () => Promise<void>): Promise<void> {
    letGo = undefined
    const holding = invoke(fn.handler, { method: 'GET', route: '/hold', path: '/hold' })
    try {
      while (letGo === undefined) await new Promise((resolve) => setTimeout(resolve, 10))
      await work()
    } finally {
      release()
      await holding
    }
  }
  const getReport = (as: string) => invoke(fn.handler, { method: 'GET', route: '/report', path: '/report', headers: { 'x-role': as } })

  it('serves the last good answer marked stale, a 503 for what it never answered, and fresh answers again after', async () => {
    const fresh = await getUserEvent(ids[0] as number)
    assert.equal(fresh.status, 200)
    assert.equal(fresh.headers.age, undefined, 'a fresh answer has no Age')
    assert.equal((await getReport('admin')).status, 200)

    const logs = captureLogs()
    const holding = invoke(fn.handler, { method: 'GET', route: '/hold', path: '/hold' })
    try {
      while (letGo === undefined) await new Promise((resolve) => setTimeout(resolve, 10))
      await new Promise((resolve) => setTimeout(resolve, 1_100))

      const stale = await getUserEvent(ids[0] as number)
      assert.equal(stale.status, 200)
      assert.equal(stale.body, fresh.body, 'the same body')
      assert.ok(Number(stale.headers.age) >= 1, `Age is the answer's age in seconds (got ${stale.headers.age})`)
      assert.equal(stale.headers['cache-status'], `users-api; hit; ttl=${-Number(stale.headers.age)}`)

      const uncached = await getUserEvent(ids[1] as number)
      assert.equal(uncached.status, 503)
      assert.match(uncached.headers['retry-after'] ?? '', /^\d+$/)
      // The pool's only connection held by this instance's own request: busy, not an outage.
      assert.equal((uncached.json() as { detail: string }).detail, 'Service temporarily unavailable: too busy')

      // Both as the OpenAPI document says: Age and Cache-Status on the 200, a body and Retry-After on the 503.
      const checker = await documentCheck(document as unknown as OpenApiDocument)
      for (const [id, answer] of [[ids[0], stale], [ids[1], uncached]] as const) checker.check('GET', `/users/${id}`, { ...answer, text: answer.body })

      assert.equal((await getReport('admin')).status, 200, 'the same authority gets its stale answer')
      assert.equal((await getReport('guest')).status, 503, 'another authority never gets it')
    } finally {
      letGo?.()
      await holding
      logs.restore()
    }
    assert.ok(logs.entries.some((entry) => entry.message === 'served stale'))
    assert.ok(logs.entries.some((entry) => entry.message === 'database retry'))
    // The request lines carry the figures as metrics: the wait for a connection, the retries, the stale answer.
    const staleLine = logs.entries.find((entry) => entry.message === 'request' && entry.route === 'GET /users/{id}' && entry.status === 200)
    assert.ok(staleLine, 'the stale answer was logged as a request')
    assert.equal(staleLine.stale, 1)
    assert.equal(staleLine.db_retries, 2, 'three attempts, two retries, for the caller; then none for the handler, the request having given up')
    assert.ok(Number(staleLine.db_wait_ms) >= 200, `waited on the pool for its attempts (${staleLine.db_wait_ms} ms)`)
    const declared = (staleLine._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]?.Metrics.map((metric) => metric.Name)
    assert.deepEqual(declared, ['duration_ms', 'db_wait_ms', 'db_retries', 'stale', 'unavailable'])
    assert.deepEqual([staleLine.unavailable, logs.entries.find((entry) => entry.message === 'request' && entry.route === 'GET /users/{id}' && entry.status === 503)?.unavailable], [0, 1], 'a 503 is counted')

    const watch = captureLogs()
    const again = await getUserEvent(ids[0] as number).finally(() => watch.restore())
    assert.equal(again.status, 200)
    assert.equal(again.headers.age, undefined, 'fresh again once the database answers')
    const freshLine = watch.entries.find((entry) => entry.message === 'request')
    assert.equal(freshLine?.stale, 0)
    assert.equal(freshLine?.db_retries, 0)
    assert.equal(typeof freshLine?.db_wait_ms, 'number')
  })

  it('answers a write 503 with Retry-After while no connection can be had, and does not apply it', async () => {
    const name = uniqueName('late_write')
    const call = () => invoke(fn.handler, { method: 'POST', route: '/register/{name}', path: `/register/${name}` })
    await whileExhausted(async () => {
      const refused = await call()
      assert.equal(refused.status, 503)
      assert.match(refused.headers['retry-after'] ?? '', /^\d+$/)
      assert.equal(refused.headers['cache-status'], undefined, 'a write is never answered from the cache')
    })
    const check = createPool({ url: database.url, max: 1 })
    try {
      const { rows } = await check.query('SELECT count(*)::int AS n FROM users WHERE username = $1', [name])
      assert.equal(rows[0].n, 0, 'not applied, not even later')
    } finally {
      await check.end()
    }
    // The same write once a connection is free: applied, once.
    assert.equal((await call()).status, 201)
  })

  it('identifies a caller from the token and their kept record, so that authenticated reads degrade too', async () => {
    const other = await createUser(database.url, { prefix: 'other_admin', role: 'super_admin' })
    const alice = await createUser(database.url, { prefix: 'alice' })
    const bob = await createUser(database.url, { prefix: 'bob' })
    const stranger = await createUser(database.url, { prefix: 'stranger', role: 'super_admin' })
    const [asOther, asAlice, asBob, asStranger] = await Promise.all([bearer(other.id), bearer(alice.id), bearer(bob.id), bearer(stranger.id)])
    // Fresh answers first: the list for a super_admin, each user's own record, and Bob seen once.
    const list = await listEvent(asAdmin)
    assert.equal(list.status, 200)
    assert.equal((await meEvent(asAlice)).status, 200)
    assert.equal((await meEvent(asBob)).status, 200)
    // The last good list for a super_admin's rights: what is kept (other test files may add
    // users to the same database between two fresh reads).
    const lastList = await listEvent(asOther)
    assert.equal(lastList.status, 200)

    const logs = captureLogs()
    try {
      await whileExhausted(async () => {
        // A super_admin gets the list stale; so does another super_admin (the same rights).
        const stale = await listEvent(asAdmin)
        assert.equal(stale.status, 200)
        assert.equal(stale.body, lastList.body)
        assert.match(stale.headers['cache-status'] ?? '', /^users-api; hit; ttl=-?\d+$/)
        assert.equal((await listEvent(asOther)).status, 200)
        // A user gets their own record stale, and never another's.
        const own = await meEvent(asAlice)
        assert.equal(own.status, 200)
        assert.equal((own.json() as { id: number }).id, alice.id)
        assert.ok(own.headers.age !== undefined)
        const bobs = await meEvent(asBob)
        assert.equal(bobs.status, 200)
        assert.equal((bobs.json() as { id: number }).id, bob.id, 'Bob gets his own record, not Alice’s')
        // Rights still hold: a user's kept record says "user", so the list is refused.
        assert.equal((await listEvent(asAlice)).status, 403)
        // A caller never seen by this instance cannot be identified: 503, even as a super_admin.
        const unknown = await listEvent(asStranger)
        assert.equal(unknown.status, 503)
        assert.ok(unknown.headers['retry-after'])
        // The token is still verified: a tampered one is refused, not served.
        const tampered = { authorization: `${asAdmin.authorization?.slice(0, -2)}xx` }
        assert.equal((await listEvent(tampered)).status, 401)
      })
    } finally {
      logs.restore()
    }
    assert.ok(logs.entries.some((entry) => entry.message === 'caller identified from cache' && entry.user_id === alice.id))
  })
})

describe('the shared cache tier (Redis)', async () => {
  const skip = await skipWithoutRedis()
  let database: DevDatabase
  let id: number
  let headers: Record<string, string>
  const functions: LambdaFunction[] = []

  before(async () => {
    database = await startTestDatabase()
    ;[id] = (await seedUsers(database.url, ['shared'])) as [number]
    headers = await bearer(id)
  })
  after(async () => {
    letGo?.()
    for (const fn of functions) await fn.shutdown()
    await database?.close()
  })

  const instance = async (redisUrl: string) => {
    const fn = await lambdaFunction([getUser, hold], {
      env: {
        ...functionEnv(database),
        REDIS_URL: redisUrl,
        DATABASE_POOL_MAX: '1',
        DATABASE_CONNECT_TIMEOUT_MS: '100',
        DATABASE_RETRY_ATTEMPTS: '2',
      },
    })
    functions.push(fn)
    return fn
  }
  // The user reads themselves: the new instance must learn who they are from Redis too.
  const read = (fn: LambdaFunction) => invoke(fn.handler, { method: 'GET', route: '/users/{id}', path: `/users/${id}`, headers })

  it('lets a fresh instance, its own cache empty, answer stale from Redis', { skip }, async () => {
    const warm = await instance(REDIS_URL)
    const fresh = await read(warm)
    assert.equal(fresh.status, 200)

    const cold = await instance(REDIS_URL)
    release()
    letGo = undefined
    const logs = captureLogs()
    const holding = invoke(cold.handler, { method: 'GET', route: '/hold', path: '/hold' })
    try {
      while (letGo === undefined) await new Promise((resolve) => setTimeout(resolve, 10))
      const stale = await read(cold)
      assert.equal(stale.status, 200)
      assert.equal(stale.body, fresh.body)
      assert.match(stale.headers['cache-status'] ?? '', /^users-api; hit; ttl=-?\d+$/)
      assert.ok(stale.headers.age !== undefined)
    } finally {
      release()
      await holding
      logs.restore()
    }
  })

  it('never fails a request because Redis is down', async () => {
    const logs = captureLogs()
    try {
      // Nothing listens on port 1: every Redis command fails, fast.
      const fn = await instance('redis://127.0.0.1:1')
      const fresh = await read(fn)
      assert.equal(fresh.status, 200)
      assert.equal(fresh.headers.age, undefined)
    } finally {
      logs.restore()
    }
    assert.ok(logs.entries.some((entry) => entry.message === 'shared cache unavailable' || entry.message === 'shared cache command failed'))
  })
})
