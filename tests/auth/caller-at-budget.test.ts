/**
 * A caller identified from their kept record at the stale budget, on a route that has no kept
 * answer to give: the request waits for the database after all, and the read of the caller's
 * row, which went on, decides. (It used to abandon the request's database work at the budget,
 * so such a request got 503 while the database was only slow: seen in a burst on a loaded
 * machine.) The database is made slow by a transaction that holds the users table locked.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { PoolClient } from '@neondatabase/serverless'
import { createPool, type Pool } from '../../lib/db/pool.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { bearer, createUser } from '../support/auth.ts'
import { externalUrl, functionEnv, seedUsers, startTestDatabase } from '../support/database.ts'
import { invoke } from '../support/invoke.ts'
import { captureLogs } from '../support/logs.ts'
import { getUser } from '../support/routes.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('a caller identified from the kept record, on a route with nothing kept', { skip: externalUrl === undefined && 'needs a PostgreSQL server (DATABASE_URL): PGlite runs one connection at a time' }, () => {
  let database: DevDatabase
  let fn: LambdaFunction
  let admin: Pool
  let ids: number[]

  before(async () => {
    database = await startTestDatabase()
    ids = await seedUsers(database.url, ['read_before', 'never_read', 'never_read_either'])
    admin = createPool({ url: database.url, max: 1 })
    fn = await lambdaFunction([getUser], { env: { ...functionEnv(database), STALE_AFTER_MS: '300' } })
  })
  after(async () => {
    await fn?.shutdown()
    await admin?.end()
    await database?.close()
  })

  /** Sends GET /users/{id} while the users table is locked; once the caller is identified from the kept record, `then` runs in the locking transaction and commits. */
  async function whileLocked(headers: Record<string, string>, id: number, then: (locker: PoolClient) => Promise<unknown>) {
    const locker = await admin.connect()
    const logs = captureLogs()
    try {
      await locker.query('BEGIN')
      await locker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE')
      const answer = invoke(fn.handler, { method: 'GET', route: '/users/{id}', path: `/users/${id}`, headers })
      for (let waited = 0; !logs.entries.some((entry) => entry.message === 'caller identified from cache'); waited += 20) {
        if (waited > 20_000) assert.fail('the caller was never identified from the kept record')
        await sleep(20)
      }
      await then(locker)
      await locker.query('COMMIT')
      return await answer
    } finally {
      logs.restore()
      locker.release()
    }
  }

  it('waits for the database, and answers fresh when it answers, not 503', async () => {
    const caller = await createUser(database.url, { prefix: 'reader', role: 'super_admin' })
    const headers = await bearer(caller.id)
    assert.equal((await invoke(fn.handler, { method: 'GET', route: '/users/{id}', path: `/users/${ids[0]}`, headers })).status, 200)
    const answer = await whileLocked(headers, ids[1] as number, async () => undefined)
    assert.equal(answer.status, 200, answer.body)
    assert.equal(answer.headers['cache-status'], undefined)
    assert.equal((answer.json() as { id: number }).id, ids[1])
  })

  it('answers 401 when the read of the caller finds their rights gone, though the route\'s own read succeeded', async () => {
    const caller = await createUser(database.url, { prefix: 'leaver', role: 'super_admin' })
    const headers = await bearer(caller.id)
    assert.equal((await invoke(fn.handler, { method: 'GET', route: '/users/{id}', path: `/users/${ids[0]}`, headers })).status, 200)
    const answer = await whileLocked(headers, ids[2] as number, (locker) => locker.query('UPDATE users SET is_active = false WHERE id = $1', [caller.id]))
    assert.equal(answer.status, 401, answer.body)
  })
})
