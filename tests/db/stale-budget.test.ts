/**
 * The stale budget: a read that has a kept answer is answered from it once the database has
 * not answered within STALE_AFTER_MS of the request's start (its fresh attempt abandoned),
 * not at the request's deadline; the caller is identified from their kept record within the
 * same budget. Through the Lambda handler, with the database cut off by the fault proxy
 * (every packet dropped) and the deployed timeouts (2 s per connection, 10 s deadline).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { dbConn } from '../../lib/db/database.ts'
import type { FaultProxy } from '../../lib/dev/fault-proxy.ts'
import type { AppEnv } from '../../lib/http/env.ts'
import type { LambdaFunction } from '../../lib/http/lambda.ts'
import { needs, responds, staleFallback } from '../../lib/http/route.ts'
import { readStaleAfterMs } from '../../lib/http/stale-cache.ts'
import { faultyFunction, type FaultyFunction } from '../support/faulty.ts'
import { invoke } from '../support/invoke.ts'
import { captureLogs } from '../support/logs.ts'
import { createUserRoute, getMe, getUser } from '../support/routes.ts'

describe('STALE_AFTER_MS', () => {
  it('is 1000 ms unless set, and a whole number of milliseconds from 50 to 60000 when set', () => {
    assert.equal(readStaleAfterMs({}), 1_000)
    assert.equal(readStaleAfterMs({ STALE_AFTER_MS: '250' }), 250)
    for (const bad of ['0', '49', '60001', '1.5', '1s', ' 100', '-5']) {
      assert.throws(() => readStaleAfterMs({ STALE_AFTER_MS: bad }), new RegExp(`^ConfigError: STALE_AFTER_MS: must be a whole number of milliseconds from 50 to 60000, not "${bad.replace('.', '\\.')}"$`))
    }
  })
})

/** A read for anyone, with a budget of its own: the handler's statement is what waits. */
const open = new Hono<AppEnv>().get(
  '/open',
  needs({ db: dbConn }),
  staleFallback(undefined, { afterMs: 300 }),
  responds(v.object({ n: v.number() })),
  async (c) => c.var.respond({ n: Number((await c.var.db.read<{ n: number }>('SELECT 42 AS n')).rows[0]?.n) }),
)

describe('a read with a kept answer, the database cut off', () => {
  let faulty: FaultyFunction
  let fault: FaultProxy
  let fn: LambdaFunction
  let ids: number[] = []
  let headers: Record<string, string>

  before(async () => {
    // The deployed defaults, but for the breaker: a threshold no run reaches, so that every
    // read below goes to the database and waits its budget, rather than skipping it.
    faulty = await faultyFunction([getMe, getUser, open], ['kept', 'never_read'], { DATABASE_BREAKER_THRESHOLD: '1000' })
    ;({ fault, fn, ids, headers } = faulty)
  })
  after(async () => {
    await faulty?.close()
  })

  const read = (path: string, route: string) => invoke(fn.handler, { method: 'GET', route, path, headers })

  it('is answered stale at its route\'s own budget when the handler\'s statement gets no answer', async () => {
    const fresh = await invoke(fn.handler, { method: 'GET', route: '/open', path: '/open' })
    assert.deepEqual([fresh.status, fresh.body], [200, '{"n":42}'])
    fault.setMode('blackhole')
    try {
      const started = performance.now()
      const stale = await invoke(fn.handler, { method: 'GET', route: '/open', path: '/open' })
      const took = performance.now() - started
      assert.deepEqual([stale.status, stale.body], [200, '{"n":42}'])
      assert.match(stale.headers['cache-status'] ?? '', /^users-api; hit; ttl=/)
      assert.ok(took >= 280 && took < 5_000, `answered stale after ${Math.round(took)} ms`)
    } finally {
      fault.setMode('forward')
    }
  })

  it('is answered stale at the budget, not at the deadline; one never answered gets 503', async () => {
    const path = `/users/${ids[0]}`
    const fresh = await read(path, '/users/{id}')
    assert.equal(fresh.status, 200)
    const me = await read('/users/me', '/users/me')
    assert.equal(me.status, 200)

    const logs = captureLogs()
    fault.setMode('blackhole')
    try {
      for (const [where, route, kept] of [[path, '/users/{id}', fresh], ['/users/me', '/users/me', me]] as const) {
        const started = performance.now()
        const stale = await read(where, route)
        const took = performance.now() - started
        assert.equal(stale.status, 200, `${where}: ${stale.body}`)
        assert.equal(stale.body, kept.body)
        assert.match(stale.headers['cache-status'] ?? '', /^users-api; hit; ttl=/)
        // Not before the budget; and far from the 10 s deadline (2 s per connection, 4 attempts)
        // that a stale answer used to wait for.
        assert.ok(took >= 950 && took < 6_000, `${where} answered stale after ${Math.round(took)} ms`)
      }
      const unseen = await read(`/users/${ids[1]}`, '/users/{id}')
      assert.equal(unseen.status, 503)
      assert.match(unseen.headers['retry-after'] ?? '', /^\d+$/)
    } finally {
      fault.setMode('forward')
      logs.restore()
    }
    // Each stale answer came from the cache, the caller from their kept record.
    assert.equal(logs.entries.filter((entry) => entry.message === 'served stale').length, 2)
    assert.ok(logs.entries.some((entry) => entry.message === 'caller identified from cache'))

    // The abandoned attempts leave nothing behind: with the database back, answers are fresh.
    let again = await read(path, '/users/{id}')
    for (let i = 0; i < 20 && again.headers['cache-status'] !== undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      again = await read(path, '/users/{id}')
    }
    assert.equal(again.status, 200)
    assert.equal(again.headers['cache-status'], undefined, 'fresh again')
  })
})

/** A read as slow as the test says: `SELECT pg_sleep` of `slowness.seconds` before its answer. */
const slowness = { seconds: 0 }
const SLOW_SQL = 'SELECT 42 AS n FROM pg_sleep($1)'
const slow = new Hono<AppEnv>()
  .get(
    '/slow',
    needs({ db: dbConn }),
    staleFallback(undefined, { afterMs: 200 }),
    responds(v.object({ n: v.number() })),
    async (c) => c.var.respond({ n: Number((await c.var.db.read<{ n: number }>(SLOW_SQL, [slowness.seconds])).rows[0]?.n) }),
  )
  // A request that changes data, its statement sent as a write.
  .post('/slow', needs({ db: dbConn }), responds(v.object({ n: v.number() })), async (c) =>
    c.var.respond({ n: Number((await c.var.db.write<{ n: number }>(SLOW_SQL, [slowness.seconds])).rows[0]?.n) }),
  )

describe('a database slower than the stale budget', () => {
  let faulty: FaultyFunction

  before(async () => {
    // A breaker that opens on the first outage: a stale answer must not count as one. A 500 ms
    // stale budget (the GET's own is 200 ms), which a request that changes data waits at most.
    faulty = await faultyFunction([slow], [], { DATABASE_BREAKER_THRESHOLD: '1', STALE_AFTER_MS: '500' })
  })
  after(async () => {
    slowness.seconds = 0
    await faulty?.close()
  })

  it('is answered stale at the budget, but not taken for down: the breaker stays closed, and the next quick answer is fresh', async () => {
    const read = () => invoke(faulty.fn.handler, { method: 'GET', route: '/slow', path: '/slow' })
    const fresh = await read()
    assert.deepEqual([fresh.status, fresh.body, fresh.headers['cache-status']], [200, '{"n":42}', undefined])
    const logs = captureLogs()
    try {
      slowness.seconds = 0.6
      for (let i = 0; i < 3; i++) {
        const stale = await read()
        assert.deepEqual([stale.status, stale.body], [200, '{"n":42}'])
        assert.match(stale.headers['cache-status'] ?? '', /^users-api; hit; ttl=/)
      }
      // The statements left behind end (their connections closed for them), and teach the breaker nothing.
      await new Promise((resolve) => setTimeout(resolve, 800))
      slowness.seconds = 0
      const quick = await read()
      assert.deepEqual([quick.status, quick.body, quick.headers['cache-status']], [200, '{"n":42}', undefined])
    } finally {
      logs.restore()
    }
    assert.deepEqual(logs.entries.filter((entry) => entry.message === 'database circuit breaker'), [])
    assert.equal(logs.entries.filter((entry) => entry.message === 'served stale').length, 3)
  })

  it('waits for a write on its way, however long it takes past the budget of a request that changes data', async () => {
    slowness.seconds = 0.9
    try {
      const written = await invoke(faulty.fn.handler, { method: 'POST', route: '/slow', path: '/slow' })
      assert.deepEqual([written.status, written.body], [200, '{"n":42}'])
    } finally {
      slowness.seconds = 0
    }
  })
})

describe('a request that changes data, the database cut off before it is known down', () => {
  let faulty: FaultyFunction

  before(async () => {
    // The deployed defaults (2 s per connection, 5 s per statement, 10 s deadline, 1 s stale
    // budget), and a breaker no run reaches: the database is not known to be down.
    faulty = await faultyFunction([createUserRoute], [], { DATABASE_BREAKER_THRESHOLD: '1000' })
  })
  after(async () => {
    await faulty?.close()
  })

  it('answers 503 with Retry-After at the budget, not the deadline; nothing was applied, so the same write made later is made once', async () => {
    const user = (name: string) => ({ username: name, email: `${name}@example.com`, password: 'a long enough password' })
    const create = (body: object) =>
      invoke(faulty.fn.handler, { method: 'POST', route: '/users', path: '/users', headers: { ...faulty.headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    // The function has a connection open and idle: the caller's read goes on it, into the blackhole.
    assert.equal((await create(user(`first_${process.pid}`))).status, 201)
    const newcomer = user(`newcomer_${process.pid}`)
    faulty.fault.setMode('blackhole')
    try {
      const started = performance.now()
      const refused = await create(newcomer)
      const took = performance.now() - started
      assert.equal(refused.status, 503, refused.body)
      assert.match(refused.headers['retry-after'] ?? '', /^\d+$/)
      assert.deepEqual(JSON.parse(refused.body), { detail: 'Service temporarily unavailable: the database did not answer' })
      // Not before the budget; and far from the 5 s that a statement on a dead connection waits,
      // or the deadline that retries used to run to.
      assert.ok(took >= 950 && took < 4_000, `503 after ${Math.round(took)} ms`)
    } finally {
      faulty.fault.setMode('forward')
    }
    assert.equal((await create(newcomer)).status, 201)
    assert.equal((await create(newcomer)).status, 409)
  })
})
