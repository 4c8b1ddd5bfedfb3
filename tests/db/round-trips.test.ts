/**
 * Statements and round trips per route, counted where the bytes go (the local proxy), on a
 * warm instance: the Lambda handler of every users route, each request made twice and the
 * second counted. A route that gains a statement, or a statement that stops leaving as one
 * message, fails here. On one connection the driver sends a statement only once the one
 * before it is answered, so each statement is a round trip of its own; what can be saved is
 * statements (the listing's page and count are one).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { DevDatabase } from '../../lib/dev/database.ts'
import type { WireCount } from '../../lib/dev/ws-proxy.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { bearer, createUser, TEST_PASSWORD, type TestUser } from '../support/auth.ts'
import { connectionsClosed, functionEnv, startTestDatabase, uniqueName } from '../support/database.ts'
import { invoke } from '../support/invoke.ts'
import { createUserRoute, deleteUserRoute, getAvatar, getMe, getUser, health, listUsersRoute, login, patchUser, putAvatarRoute } from '../support/routes.ts'
import type { EventOptions } from '../fixtures/lambda.ts'

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64')

describe('statements and round trips per route, warm', () => {
  let database: DevDatabase
  let wire: Readonly<WireCount>
  let fn: LambdaFunction
  let admin: TestUser
  let user: TestUser
  let asAdmin: Record<string, string>
  let asUser: Record<string, string>
  let doomed: TestUser[]

  before(async () => {
    database = await startTestDatabase()
    wire = database.wire as Readonly<WireCount>
    fn = await lambdaFunction([health, login, getMe, getUser, listUsersRoute, createUserRoute, patchUser, deleteUserRoute, putAvatarRoute, getAvatar], { env: functionEnv(database) })
    admin = await createUser(database.url, { prefix: 'trips_root', role: 'super_admin' })
    user = await createUser(database.url, { prefix: 'trips_user' })
    asAdmin = await bearer(admin.id)
    asUser = await bearer(user.id)
    doomed = await Promise.all([createUser(database.url, { prefix: 'trips_gone' }), createUser(database.url, { prefix: 'trips_gone' })])
    // The connections that made them, ended, so that what is counted is the function's alone.
    await connectionsClosed(wire)
  })

  after(async () => {
    await fn?.shutdown()
    await database?.close()
  })

  /** The second of two like requests: its status, and what it sent. */
  async function counted(request: () => EventOptions, status: number): Promise<{ messages: number; statements: number }> {
    assert.equal((await invoke(fn.handler, request())).status, status, 'first')
    const sent = { ...wire }
    const answer = await invoke(fn.handler, request())
    assert.equal(answer.status, status, answer.body)
    return { messages: wire.messages - sent.messages, statements: wire.statements - sent.statements }
  }

  const cases: [string, number, () => EventOptions, number][] = [
    ['GET /health (a ping)', 200, () => ({ method: 'GET', route: '/health', path: '/health' }), 1],
    ['POST /auth/token (the user\'s login row)', 200, () => ({ method: 'POST', route: '/auth/token', path: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username: user.username, password: TEST_PASSWORD }).toString() }), 1],
    ['GET /users/me (the caller, who is the answer)', 200, () => ({ method: 'GET', route: '/users/me', path: '/users/me', headers: asAdmin }), 1],
    ['GET /users/{id} of oneself (the caller, who is the answer)', 200, () => ({ method: 'GET', route: '/users/{id}', path: `/users/${admin.id}`, pathParameters: { id: String(admin.id) }, headers: asAdmin }), 1],
    ['GET /users/{id} (the caller and the user, in one statement)', 200, () => ({ method: 'GET', route: '/users/{id}', path: `/users/${user.id}`, pathParameters: { id: String(user.id) }, headers: asAdmin }), 1],
    ['GET /users/{id} of another, as a user (403: the row read with the caller\'s goes nowhere)', 403, () => ({ method: 'GET', route: '/users/{id}', path: `/users/${admin.id}`, pathParameters: { id: String(admin.id) }, headers: asUser }), 1],
    ['GET /users/{id} of no one (the same)', 404, () => ({ method: 'GET', route: '/users/{id}', path: '/users/999999999', pathParameters: { id: '999999999' }, headers: asAdmin }), 1],
    ['GET /users?search= (the caller, the page with its count)', 200, () => ({ method: 'GET', route: '/users', path: '/users', query: { search: 'trips_', page: '1' }, headers: asAdmin }), 2],
    ['GET /users past the end (the same)', 200, () => ({ method: 'GET', route: '/users', path: '/users', query: { page: '100000' }, headers: asAdmin }), 2],
    ['POST /users (the caller, the insert)', 201, () => ({ method: 'POST', route: '/users', path: '/users', headers: { ...asAdmin, 'content-type': 'application/json' }, body: JSON.stringify({ username: uniqueName('trips_new').toLowerCase(), email: `${uniqueName('t')}@example.com`, password: 'a-long-password' }) }), 2],
    ['PATCH /users/{id} of a name (the caller, the update)', 200, () => ({ method: 'PATCH', route: '/users/{id}', path: `/users/${user.id}`, pathParameters: { id: String(user.id) }, headers: { ...asAdmin, 'content-type': 'application/json' }, body: '{"full_name": "Round Trips"}' }), 2],
    ['PATCH /users/{id} of a role (the caller; BEGIN, the last-super_admin check, the update, COMMIT)', 200, () => ({ method: 'PATCH', route: '/users/{id}', path: `/users/${user.id}`, pathParameters: { id: String(user.id) }, headers: { ...asAdmin, 'content-type': 'application/json' }, body: '{"role": "admin"}' }), 5],
    ['PUT /users/{id}/avatar (the caller, the upsert)', 204, () => ({ method: 'PUT', route: '/users/{id}/avatar', path: `/users/${user.id}/avatar`, pathParameters: { id: String(user.id) }, headers: { ...asAdmin, 'content-type': 'image/png' }, body: PNG.toString('base64'), isBase64Encoded: true }), 2],
    ['GET /users/{id}/avatar (the caller, the image)', 200, () => ({ method: 'GET', route: '/users/{id}/avatar', path: `/users/${user.id}/avatar`, pathParameters: { id: String(user.id) }, headers: asAdmin }), 2],
  ]

  for (const [name, status, request, statements] of cases) {
    it(`${name}: ${statements} statement(s), each one round trip`, async () => {
      assert.deepEqual(await counted(request, status), { messages: statements, statements })
    })
  }

  it('DELETE /users/{id} (the caller; BEGIN, the check, the delete, COMMIT): 5 statements, each one round trip', async () => {
    const request = (id: number): EventOptions => ({ method: 'DELETE', route: '/users/{id}', path: `/users/${id}`, pathParameters: { id: String(id) }, headers: asAdmin })
    assert.equal((await invoke(fn.handler, request((doomed[0] as TestUser).id))).status, 204)
    const sent = { ...wire }
    assert.equal((await invoke(fn.handler, request((doomed[1] as TestUser).id))).status, 204)
    assert.deepEqual({ messages: wire.messages - sent.messages, statements: wire.statements - sent.statements }, { messages: 5, statements: 5 })
  })
})
