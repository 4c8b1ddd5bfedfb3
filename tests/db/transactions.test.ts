/**
 * `session.transaction()` against a real database through the Neon driver: COMMIT and
 * ROLLBACK, the isolation level, the whole function run again after a serialization failure
 * (two SERIALIZABLE transactions at once, on PostgreSQL), and not run again when COMMIT's
 * answer is lost (the fault proxy drops the database's answers; the commit took place).
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { configureDriver } from '../../lib/db/driver.ts'
import { createPool, type Pool } from '../../lib/db/pool.ts'
import { DatabaseUnavailable, Resilience } from '../../lib/db/resilience.ts'
import { Session } from '../../lib/db/session.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import type { FaultProxy } from '../../lib/dev/fault-proxy.ts'
import { behindFaultProxies, type FaultyPaths } from '../../lib/dev/faults.ts'
import { externalUrl, startTestDatabase, uniqueName } from '../support/database.ts'
import { captureLogs } from '../support/logs.ts'

const quick = { initialDelayMs: 20, maxDelayMs: 100, reserveMs: 50 }

describe('session.transaction()', () => {
  let database: DevDatabase
  let paths: FaultyPaths
  let fault: FaultProxy
  let pool: Pool
  /** Through the fault proxy: its answers can be dropped. */
  let faultyPool: Pool
  const table = uniqueName('tx_t')

  before(async () => {
    database = await startTestDatabase()
    paths = await behindFaultProxies(database)
    ;[fault] = paths.proxies as [FaultProxy]
    // One WebSocket proxy for both pools: it reaches the database directly and through the fault proxy.
    await configureDriver({ mode: 'local', wsProxy: paths.ws.address })
    pool = createPool({ url: database.url, max: 3, connectionTimeoutMillis: 2_000 })
    faultyPool = createPool({ url: paths.urlThrough(fault), max: 1, connectionTimeoutMillis: 3_000, queryTimeoutMillis: 2_000 })
    await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, role text NOT NULL)`)
  })
  after(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined)
    await faultyPool.end()
    await pool.end()
    await paths.close()
    await database.close()
  })

  const open: Session[] = []
  afterEach(async () => {
    for (const item of open.splice(0)) item.release()
    await pool.query(`DELETE FROM ${table}`)
  })
  const session = (options: { resilience?: Resilience; budgetMs?: number; on?: Pool } = {}) => {
    const deadline = Date.now() + (options.budgetMs ?? 10_000)
    const created = new Session({
      pool: options.on ?? pool,
      resilience: options.resilience ?? new Resilience(quick),
      idleCheckMs: 30_000,
      pingTimeoutMs: 1_000,
      remainingMs: () => deadline - Date.now(),
    })
    open.push(created)
    return created
  }
  const rows = async () => (await pool.query(`SELECT id, role FROM ${table} ORDER BY id`)).rows as { id: number; role: string }[]

  it('commits what the function sent, and returns what it returned', async () => {
    const s = session()
    const value = await s.transaction(async (tx) => {
      await tx.query(`INSERT INTO ${table} VALUES (1, 'admin')`)
      const { rows: inside } = await tx.query<{ n: number }>(`INSERT INTO ${table} VALUES (2, 'admin') RETURNING id AS n`)
      return inside[0]?.n
    })
    assert.equal(value, 2)
    assert.deepEqual(await rows(), [{ id: 1, role: 'admin' }, { id: 2, role: 'admin' }])
    // The session goes on after it, on the same connection.
    assert.equal((await s.read<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n, 2)
  })

  it('rolls back when the function throws, and passes its error on as it was, without a retry', async () => {
    const s = session()
    const logs = captureLogs()
    let runs = 0
    class Refused extends Error {}
    try {
      await assert.rejects(
        s.transaction(async (tx) => {
          runs++
          await tx.query(`INSERT INTO ${table} VALUES (1, 'admin')`)
          throw new Refused('no')
        }),
        Refused,
      )
      // An SQL error reaches the caller as the driver threw it (its SQLSTATE), also rolled back.
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} VALUES (3, 'admin')`)
          await tx.query(`INSERT INTO ${table} VALUES (3, 'again')`)
        }),
        (error: unknown) => (error as { code?: string }).code === '23505',
      )
    } finally {
      logs.restore()
    }
    assert.equal(runs, 1)
    assert.deepEqual(await rows(), [])
    assert.equal(logs.entries.filter((entry) => entry.message === 'database retry').length, 0)
    assert.deepEqual((await s.read('SELECT 1 AS one')).rows, [{ one: 1 }], 'the connection is usable after ROLLBACK')
  })

  it('runs at the isolation level asked for', async () => {
    const s = session()
    const level = await s.transaction(async (tx) => (await tx.query<{ transaction_isolation: string }>('SHOW transaction_isolation')).rows[0]?.transaction_isolation, { isolation: 'serializable' })
    assert.equal(level, 'serializable')
    const plain = await s.transaction(async (tx) => (await tx.query<{ transaction_isolation: string }>('SHOW transaction_isolation')).rows[0]?.transaction_isolation)
    assert.equal(plain, 'read committed')
  })

  it('refuses a statement on the session, or a transaction, inside the transaction', async () => {
    const s = session()
    await s.transaction(async () => {
      await assert.rejects(s.read('SELECT 1'), /transaction's `tx`/)
      await assert.rejects(
        s.transaction(async () => undefined),
        /inside a transaction/,
      )
    })
    assert.deepEqual((await s.read('SELECT 1 AS one')).rows, [{ one: 1 }])
  })

  it('abandons a transaction at the deadline: 503, nothing committed, its connection closed rather than reused', async () => {
    const s = session({ budgetMs: 600 })
    await assert.rejects(
      s.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (1, 'admin')`)
        await new Promise((resolve) => setTimeout(resolve, 1_000))
        await tx.query(`INSERT INTO ${table} VALUES (2, 'admin')`)
      }),
      DatabaseUnavailable,
    )
    const connections = pool.totalCount
    s.release()
    assert.equal(pool.totalCount, connections - 1, 'closed, not handed back to the pool')
    await new Promise((resolve) => setTimeout(resolve, 600)) // the function's own end, after the deadline
    assert.deepEqual(await rows(), [])
  })

  it('does not run the function again when COMMIT\'s answer is lost: 503, once, and the commit stands', async () => {
    const s = session({ on: faultyPool })
    const logs = captureLogs()
    let runs = 0
    try {
      await assert.rejects(
        s.transaction(async (tx) => {
          runs++
          await tx.query(`INSERT INTO ${table} VALUES (1, 'admin')`)
          // From here the database's answers are lost: COMMIT reaches it, its answer never comes back.
          fault.setMode('mute')
        }),
        (error: unknown) => error instanceof DatabaseUnavailable && error.kind === 'query_timeout',
      )
    } finally {
      fault.setMode('forward')
      s.release()
      logs.restore()
    }
    assert.equal(runs, 1)
    assert.equal(logs.entries.filter((entry) => entry.message === 'database retry').length, 0)
    // Run again, it would have inserted twice (or failed on the key): the first COMMIT applied.
    assert.deepEqual(await rows(), [{ id: 1, role: 'admin' }])
  })

  it('runs the function again, in a new transaction, when the connection failed before COMMIT', async () => {
    const s = session({ on: faultyPool, resilience: new Resilience({ ...quick, maxAttempts: 3 }) })
    let runs = 0
    await s.transaction(async (tx) => {
      runs++
      await tx.query(`INSERT INTO ${table} VALUES (${runs}, 'admin')`)
      // The first run's connection dies under it; the database rolls that run back.
      if (runs === 1) fault.sever()
      await tx.query('SELECT 1')
    })
    assert.equal(runs, 2)
    assert.deepEqual(await rows(), [{ id: 2, role: 'admin' }])
  })

  it('sends nothing on a connection that failed while the request held it: a write goes on a new one, once', async () => {
    const s = session({ on: faultyPool })
    const first = (await s.read<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid
    // The connection ends under the held session (the proxy closes it, as a server does): its client hears of it.
    fault.setMode('blackhole')
    fault.setMode('forward')
    await new Promise((resolve) => setTimeout(resolve, 200))
    const logs = captureLogs()
    try {
      await s.write(`INSERT INTO ${table} VALUES (1, 'admin')`)
    } finally {
      logs.restore()
    }
    assert.deepEqual(await rows(), [{ id: 1, role: 'admin' }])
    assert.equal(logs.entries.filter((entry) => entry.message === 'database retry').length, 0, 'not sent on the dead one and retried: sent once, on a new one')
    if (externalUrl !== undefined) assert.notEqual((await s.read<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid, first)
  })

  it('runs the whole function again after a serialization failure, once, with a consistent result', { skip: externalUrl === undefined && 'needs PostgreSQL (DATABASE_URL): PGlite runs one transaction at a time, so none conflicts' }, async () => {
    // Write skew: each steps an admin down if another admin remains. Both read two admins
    // before either writes; SERIALIZABLE refuses one of them, whose second run sees one admin.
    await pool.query(`INSERT INTO ${table} VALUES (1, 'admin'), (2, 'admin')`)
    let bothRead: () => void = () => undefined
    const barrier = new Promise<void>((resolve) => {
      let count = 0
      bothRead = () => {
        if (++count === 2) resolve()
      }
    })
    const runs = { 1: 0, 2: 0 }
    const stepDown = (id: 1 | 2) =>
      session({ resilience: new Resilience(quick) }).transaction(
        async (tx) => {
          runs[id]++
          const { rows: admins } = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE role = 'admin'`)
          if (runs[id] === 1) {
            bothRead()
            await barrier
          }
          if ((admins[0]?.n ?? 0) < 2) return 'refused'
          await tx.query(`UPDATE ${table} SET role = 'user' WHERE id = $1`, [id])
          return 'stepped down'
        },
        { isolation: 'serializable' },
      )
    const logs = captureLogs()
    let outcomes: string[]
    try {
      outcomes = await Promise.all([stepDown(1), stepDown(2)])
    } finally {
      logs.restore()
    }
    assert.deepEqual([...outcomes].sort(), ['refused', 'stepped down'])
    assert.deepEqual([runs[1] + runs[2]], [3], `runs: ${JSON.stringify(runs)}`)
    const retries = logs.entries.filter((entry) => entry.message === 'database retry')
    assert.deepEqual(retries.map((entry) => entry.kind), ['conflict'])
    assert.deepEqual((await rows()).filter((row) => row.role === 'admin').length, 1)
  })
})
