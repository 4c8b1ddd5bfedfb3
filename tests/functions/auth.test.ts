/**
 * Sign-in, tokens and rights through Lambda handlers with payload-2.0 events, against the
 * test database: POST /auth/token, GET /users/me, GET /users (super_admin only, pages and
 * search), and every way a token can be refused.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sign } from 'hono/jwt'
import { createPool, type Pool } from '../../lib/db/pool.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { getMe, getUser, listUsersRoute, login } from '../support/routes.ts'
import { bearer, createUser, type TestUser } from '../support/auth.ts'
import { functionEnv, startTestDatabase, TEST_JWT_SECRET, uniqueName } from '../support/database.ts'
import { invoke } from '../support/invoke.ts'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

describe('signing in and tokens', () => {
  let database: DevDatabase
  let pool: Pool
  let fn: LambdaFunction
  let alice: TestUser
  let admin: TestUser

  before(async () => {
    database = await startTestDatabase()
    pool = createPool({ url: database.url, max: 1 })
    fn = await lambdaFunction([login, getMe, listUsersRoute, getUser], { env: functionEnv(database) })
    alice = await createUser(database.url, { prefix: 'alice', fullName: 'Alice A' })
    admin = await createUser(database.url, { prefix: 'boss', role: 'super_admin' })
  })
  after(async () => {
    await fn?.shutdown()
    await pool?.end()
    await database?.close()
  })

  const signIn = (body: string, headers: Record<string, string> = FORM) =>
    invoke(fn.handler, { method: 'POST', route: '/auth/token', path: '/auth/token', headers, body })
  const me = (headers: Record<string, string>) => invoke(fn.handler, { method: 'GET', route: '/users/me', path: '/users/me', headers })
  const form = (username: string, password: string) => new URLSearchParams({ username, password }).toString()

  it('issues a bearer token for the right password, which then names the caller', async () => {
    const response = await signIn(form(alice.username, alice.password))
    assert.equal(response.status, 200, response.body)
    const token = response.json() as { access_token: string; token_type: string; expires_in: number }
    assert.equal(token.token_type, 'bearer')
    assert.equal(token.expires_in, 1800)
    const [header] = token.access_token.split('.')
    assert.deepEqual(JSON.parse(Buffer.from(header as string, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' })
    const self = await me({ authorization: `Bearer ${token.access_token}` })
    assert.equal(self.status, 200)
    const body = self.json() as Record<string, unknown>
    assert.equal(body.username, alice.username)
    assert.equal(body.full_name, 'Alice A')
    assert.doesNotMatch(self.body, /password|scrypt/)
  })

  it('takes the OAuth2 form as multipart too', async () => {
    const boundary = 'xYz'
    const body = [`--${boundary}`, 'Content-Disposition: form-data; name="username"', '', alice.username, `--${boundary}`, 'Content-Disposition: form-data; name="password"', '', alice.password, `--${boundary}--`, ''].join('\r\n')
    const response = await signIn(body, { 'content-type': `multipart/form-data; boundary=${boundary}` })
    assert.equal(response.status, 200, response.body)
  })

  it('answers a wrong password, an unknown user and an inactive one alike: 401 with WWW-Authenticate', async () => {
    const inactive = await createUser(database.url, { prefix: 'gone', isActive: false })
    for (const body of [form(alice.username, 'wrong password!'), form(uniqueName('nobody'), 'whatever123'), form(inactive.username, inactive.password)]) {
      const response = await signIn(body)
      assert.equal(response.status, 401)
      assert.deepEqual(response.json(), { detail: 'Incorrect username or password' })
      assert.equal(response.headers['www-authenticate'], 'Bearer')
    }
  })

  it('answers 422 at ["body", "username"] when the field is missing', async () => {
    const response = await signIn('password=whatever123')
    assert.equal(response.status, 422)
    const detail = (response.json() as { detail: { loc: unknown[]; type: string }[] }).detail
    assert.deepEqual(
      detail.map((problem) => [problem.loc, problem.type]),
      [[['body', 'username'], 'missing']],
    )
  })

  it('refuses every token it did not issue, or that is no longer good, with 401 and WWW-Authenticate', async () => {
    const now = Math.floor(Date.now() / 1000)
    const claims = { sub: String(alice.id), iat: now, exp: now + 600 }
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`
    const good = (await bearer(alice.id)).authorization as string
    const cases: [string, string][] = [
      ['alg none', `Bearer ${unsigned}`],
      ['another algorithm, same key', `Bearer ${await sign(claims, TEST_JWT_SECRET, 'HS512')}`],
      ['another key', `Bearer ${await sign(claims, 'some-other-secret-of-32-characters!!', 'HS256')}`],
      ['expired', `Bearer ${await sign({ ...claims, iat: now - 7200, exp: now - 3600 }, TEST_JWT_SECRET, 'HS256')}`],
      ['no expiry', `Bearer ${await sign({ sub: String(alice.id), iat: now }, TEST_JWT_SECRET, 'HS256')}`],
      ['a subject that is not a user id', `Bearer ${await sign({ ...claims, sub: 'alice' }, TEST_JWT_SECRET, 'HS256')}`],
      ['tampered payload', good.replace(/\.([^.]+)\./, `.${Buffer.from(JSON.stringify({ ...claims, sub: String(admin.id) })).toString('base64url')}.`)],
      ['not a JWT', 'Bearer not.a.token'],
    ]
    for (const [what, authorization] of cases) {
      const response = await me({ authorization })
      assert.equal(response.status, 401, what)
      assert.deepEqual(response.json(), { detail: 'Could not validate credentials' }, what)
      assert.equal(response.headers['www-authenticate'], 'Bearer', what)
    }
    for (const authorization of [undefined, 'Basic YWxpY2U6c2VjcmV0', 'Bearer', 'Bearer a b']) {
      const response = await me(authorization === undefined ? {} : { authorization })
      assert.equal(response.status, 401)
      assert.deepEqual(response.json(), { detail: 'Not authenticated' }, String(authorization))
    }
  })

  it('stops honouring the token of a user who is deactivated, or deleted, at once', async () => {
    const carol = await createUser(database.url, { prefix: 'carol' })
    const headers = await bearer(carol.id)
    assert.equal((await me(headers)).status, 200)
    await pool.query('UPDATE users SET is_active = false WHERE id = $1', [carol.id])
    assert.equal((await me(headers)).status, 401)
    await pool.query('DELETE FROM users WHERE id = $1', [carol.id])
    assert.equal((await me(headers)).status, 401)
  })
})

describe('GET /users', () => {
  let database: DevDatabase
  let pool: Pool
  let fn: LambdaFunction
  let asAdmin: Record<string, string>
  const tag = uniqueName('t').replace(/_/g, 'x')

  before(async () => {
    database = await startTestDatabase()
    pool = createPool({ url: database.url, max: 1 })
    fn = await lambdaFunction([listUsersRoute], { env: functionEnv(database) })
    asAdmin = await bearer((await createUser(database.url, { prefix: 'admin', role: 'super_admin' })).id)
    // Names that tell a literal % or _ from a wildcard, and one inactive match.
    for (const [fullName, isActive] of [
      [`100% sure ${tag}`, true],
      [`100X sure ${tag}`, true],
      [`a_b ${tag}`, true],
      [`axb ${tag}`, true],
      [`AXB ${tag} inactive`, false],
    ] as const) {
      await createUser(database.url, { prefix: 'listed', fullName, isActive })
    }
  })
  after(async () => {
    await fn?.shutdown()
    await pool?.end()
    await database?.close()
  })

  const list = (query: Record<string, string>, headers = asAdmin) => invoke(fn.handler, { method: 'GET', route: '/users', path: '/users', query, headers })
  type Page = { items: { id: number; full_name: string | null; is_active: boolean }[]; page: number; results_per_page: number; total: number }

  it('lists active users in id order, 13 to a page by default, with the total of all matches', async () => {
    const response = await list({ search: tag })
    assert.equal(response.status, 200)
    const page = response.json() as Page
    assert.equal(page.page, 1)
    assert.equal(page.results_per_page, 13)
    assert.equal(page.total, 4, 'the inactive match is not counted')
    assert.deepEqual(
      page.items.map((item) => item.full_name),
      [`100% sure ${tag}`, `100X sure ${tag}`, `a_b ${tag}`, `axb ${tag}`],
    )
    const ids = page.items.map((item) => item.id)
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b))
  })

  it('pages, with total still counting every match', async () => {
    const second = (await list({ search: tag, page: '2', results_per_page: '3' })).json() as Page
    assert.equal(second.total, 4)
    assert.deepEqual(
      second.items.map((item) => item.full_name),
      [`axb ${tag}`],
    )
    const beyond = (await list({ search: tag, page: '9', results_per_page: '3' })).json() as Page
    assert.deepEqual(beyond.items, [])
    assert.equal(beyond.total, 4)
  })

  it('takes % and _ in a search literally, and ignores case', async () => {
    const percent = (await list({ search: `0% SURE ${tag}` })).json() as Page
    assert.deepEqual(
      percent.items.map((item) => item.full_name),
      [`100% sure ${tag}`],
    )
    const underscore = (await list({ search: `a_b ${tag}` })).json() as Page
    assert.deepEqual(
      underscore.items.map((item) => item.full_name),
      [`a_b ${tag}`],
    )
  })

  it('answers 422 for a page below 1 or a page size outside 1-100, naming each', async () => {
    const response = await list({ page: '0', results_per_page: '101' })
    assert.equal(response.status, 422)
    const detail = (response.json() as { detail: { loc: unknown[]; type: string }[] }).detail
    assert.deepEqual(
      detail.map((problem) => [problem.loc, problem.type]),
      [
        [['query', 'page'], 'greater_than_equal'],
        [['query', 'results_per_page'], 'less_than_equal'],
      ],
    )
  })

  it('is for super_admins only: 403 for a user, 401 without a token', async () => {
    const user = await createUser(database.url, { prefix: 'plain' })
    const forbidden = await list({}, await bearer(user.id))
    assert.equal(forbidden.status, 403)
    assert.deepEqual(forbidden.json(), { detail: 'Not enough permissions' })
    assert.equal((await list({}, {})).status, 401)
  })
})
