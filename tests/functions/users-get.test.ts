import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { createPool, type Pool } from '../../lib/db/pool.ts'
import type { LambdaFunction } from '../../lib/http/lambda.ts'
import { functionEnv, startTestDatabase, uniqueName } from '../support/database.ts'
import { invoke } from '../support/invoke.ts'
import { bearer, createUser } from '../support/auth.ts'

describe('GET /users/{id} as a Lambda function', () => {
  let database: DevDatabase
  let pool: Pool
  let fn: LambdaFunction
  let alice: { id: number; username: string }
  let asAdmin: Record<string, string>

  before(async () => {
    database = await startTestDatabase()
    Object.assign(process.env, functionEnv(database))
    fn = await import('../../functions/users/[id]/get.ts')
    pool = createPool({ url: database.url, max: 1 })
    const username = uniqueName('alice')
    const { rows } = await pool.query(
      `INSERT INTO users (username, email, full_name, password_hash, created_at)
       VALUES ($1, $2, 'Alice A', 'not-a-real-hash', '2026-01-01T10:00:00Z') RETURNING id`,
      [username, `${username}@example.com`],
    )
    alice = { id: Number(rows[0].id), username }
    asAdmin = await bearer((await createUser(database.url, { prefix: 'boss', role: 'super_admin' })).id)
  })

  after(async () => {
    await fn?.shutdown()
    await pool?.end()
    await database?.close()
  })

  const get = (id: string, headers = asAdmin) =>
    invoke(fn.handler, { method: 'GET', route: '/users/{id}', path: `/users/${id}`, pathParameters: { id }, headers })

  it('returns the stored user, with the id as a number and timestamps with a UTC offset', async () => {
    const response = await get(String(alice.id))
    assert.equal(response.status, 200)
    assert.match(response.headers['content-type'] ?? '', /^application\/json/)
    assert.deepEqual(response.json(), {
      id: alice.id,
      username: alice.username,
      email: `${alice.username}@example.com`,
      full_name: 'Alice A',
      role: 'user',
      is_active: true,
      created_at: '2026-01-01T10:00:00+00:00',
      updated_at: null,
    })
  })

  it('never sends the password hash', async () => {
    const response = await get(String(alice.id))
    assert.doesNotMatch(response.body, /password|not-a-real-hash/)
  })

  it('answers 404 "User not found" for an id with no user', async () => {
    const response = await get('999999999')
    assert.equal(response.status, 404)
    assert.deepEqual(response.json(), { detail: 'User not found' })
  })

  it('answers 422 int_parsing at ["path", "id"] for an id that is not an integer', async () => {
    const response = await get('abc')
    assert.equal(response.status, 422)
    assert.deepEqual(response.json(), {
      detail: [
        {
          loc: ['path', 'id'],
          msg: 'Input should be a valid integer, unable to parse string as an integer',
          type: 'int_parsing',
        },
      ],
    })
  })

  it('lets a user read themselves but no one else (403), and no one without a token (401)', async () => {
    const own = await get(String(alice.id), await bearer(alice.id))
    assert.equal(own.status, 200)
    const bob = await createUser(database.url, { prefix: 'bob' })
    const other = await get(String(alice.id), await bearer(bob.id))
    assert.equal(other.status, 403)
    assert.deepEqual(other.json(), { detail: 'Not enough permissions' })
    const anonymous = await get(String(alice.id), {})
    assert.equal(anonymous.status, 401)
    assert.deepEqual(anonymous.json(), { detail: 'Not authenticated' })
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer')
  })

  it('answers 404 "Not Found" for a path the function does not serve', async () => {
    const response = await invoke(fn.handler, { method: 'GET', route: '$default', path: '/nowhere' })
    assert.equal(response.status, 404)
    assert.deepEqual(response.json(), { detail: 'Not Found' })
  })
})
