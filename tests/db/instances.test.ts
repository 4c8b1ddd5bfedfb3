/**
 * Instances that share what they find of the database (issue 15): through the Lambda
 * handler, each `lambdaFunction` an instance of its own as on Lambda, the database behind a
 * fault proxy, Redis as the shared tier. One instance finds the database down; another
 * answers from its cache without trying it, and one that starts after knows it as it starts;
 * one probe finds it back and the others answer fresh. And `/health` says `degraded` while
 * an instance degrades answers, whatever the reason.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createPool, dropConnecting } from '../../lib/db/pool.ts'
import { Resilience } from '../../lib/db/resilience.ts'
import { distrustIdle, Session } from '../../lib/db/session.ts'
import type { FaultProxy } from '../../lib/dev/fault-proxy.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { faultyFunction, type FaultyFunction } from '../support/faulty.ts'
import { invoke } from '../support/invoke.ts'
import { captureLogs, type CapturedLog } from '../support/logs.ts'
import { createUserRoute, getUser, health } from '../support/routes.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const breakerStates = (entries: readonly CapturedLog[]) => entries.filter((entry) => entry.message === 'database circuit breaker').map((entry) => entry.state)

describe('instances sharing what they find of the database', { skip: process.env.REDIS_URL === undefined && 'needs Redis (REDIS_URL) as the shared tier' }, () => {
  let faulty: FaultyFunction
  let fault: FaultProxy
  let first: LambdaFunction
  let second: LambdaFunction
  const started: LambdaFunction[] = []

  before(async () => {
    // The deployed defaults (2 s per connection, 1 s stale budget), but a breaker that opens
    // after two outages rather than five, and probes every 3 s rather than 500 ms: no probe
    // falls due while the test looks at what the instances learnt without one.
    faulty = await faultyFunction([getUser, health], ['kept'], { REDIS_URL: process.env.REDIS_URL ?? '', DATABASE_BREAKER_THRESHOLD: '2', DATABASE_BREAKER_COOLDOWN_MS: '3000' })
    ;({ fault, fn: first } = faulty)
    second = await lambdaFunction([getUser, health], { env: faulty.env })
    started.push(second)
  })
  after(async () => {
    for (const fn of started) await fn.shutdown()
    await faulty?.close()
  })

  it('one finds it down: another answers stale without trying it, a new one knows as it starts, one probe finds it back', async () => {
    const path = `/users/${faulty.ids[0]}`
    const read = (fn: LambdaFunction) => invoke(fn.handler, { method: 'GET', route: '/users/{id}', path, headers: faulty.headers })
    const healthOf = async (fn: LambdaFunction) => (await invoke(fn.handler, { method: 'GET', route: '/health', path: '/health' })).json()
    const fresh = await read(first)
    assert.equal(fresh.status, 200)
    assert.deepEqual(await healthOf(second), { status: 'ok' })

    const newcomer = { username: `newcomer_${process.pid}`, email: `newcomer.${process.pid}@example.com`, password: 'a long enough password' }
    const create = (fn: LambdaFunction) =>
      invoke(fn.handler, { method: 'POST', route: '/users', path: '/users', headers: { ...faulty.headers, 'content-type': 'application/json' }, body: JSON.stringify(newcomer) })
    fault.setMode('blackhole')
    const logs = captureLogs()
    let third: LambdaFunction
    let writer: LambdaFunction
    try {
      // Each read is answered stale at its budget; the breaker counts what the attempts it left
      // end in (a connection not opened within the 2 s connect timeout), not the stale answers.
      for (let i = 0; i < 10 && breakerStates(logs.entries).length === 0; i++) {
        const stale = await read(first)
        assert.deepEqual([stale.status, stale.body], [200, fresh.body])
        assert.match(stale.headers['cache-status'] ?? '', /^users-api; hit; ttl=/)
      }
      assert.deepEqual(breakerStates(logs.entries), ['Open'], 'the first instance found it down')

      // The second, warm, learns it within a second (it last looked at the status when its health was asked).
      await sleep(1_050)
      const before = logs.entries.length
      const stale = await read(second)
      assert.deepEqual([stale.status, stale.body], [200, fresh.body])
      const its = logs.entries.slice(before)
      assert.deepEqual(breakerStates(its), ['Open'])
      // It did not try the database: no wait for a connection, no retry.
      const line = its.find((entry) => entry.message === 'request')
      assert.deepEqual([line?.db_wait_ms, line?.db_retries, line?.stale], [0, 0, 1])

      // A third starts now (in Lambda's init, as deployed): it knows before its first request.
      const starting = logs.entries.length
      third = await lambdaFunction([getUser, health], { env: faulty.env, startup: 'init' })
      started.push(third)
      assert.deepEqual(breakerStates(logs.entries.slice(starting)), ['Open'])
      assert.deepEqual(await healthOf(third), { status: 'degraded' })

      // A write, in a function that starts now: 503 with Retry-After at once, nothing sent.
      writer = await lambdaFunction([createUserRoute], { env: faulty.env, startup: 'init' })
      started.push(writer)
      const writing = logs.entries.length
      const refused = await create(writer)
      assert.equal(refused.status, 503, refused.body)
      assert.equal(refused.headers['retry-after'], '3', 'the cool-down: when the next probe may find it back')
      const written = logs.entries.slice(writing).find((entry) => entry.message === 'request')
      assert.deepEqual([written?.db_wait_ms, written?.db_retries], [0, 0])
    } finally {
      fault.setMode('forward')
      logs.restore()
    }

    // Back: the first request due to probe finds it so, and the others answer fresh after it.
    await sleep(3_100)
    const back = captureLogs()
    try {
      let probed = await read(first)
      for (let i = 0; i < 20 && probed.headers['cache-status'] !== undefined; i++) {
        await sleep(100)
        probed = await read(first)
      }
      assert.equal(probed.headers['cache-status'], undefined, 'a probe found it back')
      const others = back.entries.length
      for (const fn of [second, third]) {
        const again = await read(fn)
        assert.deepEqual([again.status, again.headers['cache-status']], [200, undefined])
      }
      // They learnt it: neither probed (no half-open breaker of their own).
      assert.deepEqual(breakerStates(back.entries.slice(others)), ['Closed', 'Closed'])
      assert.deepEqual(await healthOf(third), { status: 'ok' })
      // The write refused during the outage was not applied: made now, it is made once.
      assert.equal((await create(writer)).status, 201)
      assert.equal((await create(writer)).status, 409)
    } finally {
      back.restore()
    }
  })
})

describe('connections through an outage, the local WebSocket proxy between', () => {
  let faulty: FaultyFunction

  before(async () => {
    faulty = await faultyFunction([health], [])
    // The function's first request starts its lifespans, which point the driver at the local proxy.
    assert.equal((await invoke(faulty.fn.handler, { method: 'GET', route: '/health', path: '/health' })).status, 200)
  })
  after(async () => {
    await faulty?.close()
  })

  it('being opened, are ended when the database is found back, so that a request does not wait out their connect timeout', async () => {
    const pool = createPool({ url: faulty.env.DATABASE_URL as string, max: 1, connectionTimeoutMillis: 60_000 })
    try {
      faulty.fault.setMode('blackhole')
      const opening = pool.connect().then(
        () => 'connected',
        (error: Error) => error.message,
      )
      await sleep(200)
      faulty.fault.setMode('forward')
      assert.equal(dropConnecting(pool), 1)
      assert.notEqual(await opening, 'connected')
      // The place it held is free: a new connection opens at once, not after the 60 s timeout.
      const client = await pool.connect()
      assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }])
      client.release()
      assert.equal(dropConnecting(pool), 0, 'an open connection is not ended')
    } finally {
      faulty.fault.setMode('forward')
      await pool.end()
    }
  })

  it('refused, fail at once, every time: the proxy does not wait 30 s for the driver to answer its close frame', async () => {
    const pool = createPool({ url: faulty.env.DATABASE_URL as string, max: 1, connectionTimeoutMillis: 60_000 })
    faulty.fault.setMode('refuse')
    try {
      for (let i = 0; i < 5; i++) {
        // Not a timing: 10 s against the 30 s each one after the first took (ws's close timeout).
        const outcome = await Promise.race([
          pool.connect().then((client) => (client.release(), 'connected'), (error: Error) => error.message),
          sleep(10_000).then(() => 'still waiting after 10 s'),
        ])
        assert.equal(outcome, 'Connection terminated unexpectedly', `connection ${i + 1}`)
      }
    } finally {
      faulty.fault.setMode('forward')
      await pool.end()
    }
  })

  it('not opened because the instance was frozen meanwhile (their timeout fires late) are not taken for an outage', async () => {
    const pool = createPool({ url: faulty.env.DATABASE_URL as string, max: 1, connectionTimeoutMillis: 300 })
    // A breaker that opens on one outage, and one attempt per read.
    const resilience = new Resilience({ breakAfter: 1, maxAttempts: 1, reserveMs: 0 })
    const session = () => new Session({ pool, resilience, idleCheckMs: 60_000, pingTimeoutMs: 300, remainingMs: () => 10_000 })
    const outcome = (reading: Promise<unknown>) => reading.then(() => 'answered', (error: Error) => error.name)
    const logs = captureLogs()
    faulty.fault.setMode('blackhole')
    try {
      const frozen = session()
      const reading = outcome(frozen.read('SELECT 1'))
      await sleep(50) // the connection is being opened
      // Nothing of this process runs for 1.5 s, as between two Lambda invocations: the 300 ms timeout fires after.
      const thawAt = performance.now() + 1_500
      while (performance.now() < thawAt);
      assert.equal(await reading, 'DatabaseUnavailable')
      frozen.release()
      assert.equal(resilience.state, 'closed', 'a timeout that fired 1.2 s late says nothing of the database')
      // On time, the same timeout is an outage.
      const awake = session()
      assert.equal(await outcome(awake.read('SELECT 1')), 'DatabaseUnavailable')
      awake.release()
      assert.equal(resilience.state, 'open')
    } finally {
      faulty.fault.setMode('forward')
      logs.restore()
      await pool.end()
    }
  })

  it('idle ones are pinged before their next use once the database is found back, so that a dead one costs the ping, not the deadline', async () => {
    // A statement on a dead connection would wait 30 s; the request has 4 s.
    const pool = createPool({ url: faulty.env.DATABASE_URL as string, max: 1, queryTimeoutMillis: 30_000 })
    const resilience = new Resilience({ initialDelayMs: 10, reserveMs: 0 })
    const session = () => new Session({ pool, resilience, idleCheckMs: 60_000, pingTimeoutMs: 300, remainingMs: () => 4_000 })
    try {
      const first = session()
      await first.read('SELECT 1')
      first.release()
      // Killed silently: its client does not know, and would wait for an answer.
      faulty.fault.sever()
      distrustIdle(pool)
      const next = session()
      const logs = captureLogs()
      try {
        assert.deepEqual((await next.read<{ two: number }>('SELECT 2 AS two')).rows, [{ two: 2 }])
      } finally {
        logs.restore()
        next.release()
      }
    } finally {
      await pool.end()
    }
  })
})

describe('GET /health of an instance that degrades answers', () => {
  let faulty: FaultyFunction

  before(async () => {
    // A breaker that does not open in this test: what /health reports is the stale answer alone.
    faulty = await faultyFunction([getUser, health], ['kept'], { DATABASE_BREAKER_THRESHOLD: '1000' })
  })
  after(async () => {
    await faulty?.close()
  })

  it('says degraded for a while after a stale answer, though its database answers the ping again', async () => {
    const { fn, fault } = faulty
    const path = `/users/${faulty.ids[0]}`
    const read = () => invoke(fn.handler, { method: 'GET', route: '/users/{id}', path, headers: faulty.headers })
    const healthOf = async () => (await invoke(fn.handler, { method: 'GET', route: '/health', path: '/health' })).json()
    assert.equal((await read()).status, 200)
    assert.deepEqual(await healthOf(), { status: 'ok' })
    const logs = captureLogs()
    fault.setMode('blackhole')
    try {
      const stale = await read()
      assert.match(stale.headers['cache-status'] ?? '', /^users-api; hit; ttl=/)
    } finally {
      fault.setMode('forward')
      logs.restore()
    }
    const staleAt = performance.now()
    assert.deepEqual(await healthOf(), { status: 'degraded' })
    // Five seconds after its last degraded answer, with the database answering, it is ok again.
    await sleep(Math.max(0, 5_100 - (performance.now() - staleAt)))
    assert.deepEqual(await healthOf(), { status: 'ok' })
  })
})
