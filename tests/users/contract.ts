/**
 * Every route and every error of `../shared/API.md`, written once against a `Call` so that the
 * same cases run through the Lambda handlers (payload-2.0 events, one function per route) and
 * over HTTP against the dev server. Users are made through the API itself, as a super_admin.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { uniqueName } from '../support/database.ts'
import type { Answer, Call, CallOptions } from '../support/gateway.ts'
import { documentCheck, type OpenApiDocument } from '../support/openapi.ts'
import type { ApiTarget } from '../support/targets.ts'
import { NUL_CASES } from './nul-cases.ts'

interface UserBody {
  id: number
  username: string
  email: string
  full_name: string | null
  role: string
  is_active: boolean
  created_at: string
  updated_at: string | null
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_BODY = { 'content-type': 'application/json' }
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00$/
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f0c0f80000000049454e44ae426082', 'hex')

function problems(answer: Answer): [unknown[], string][] {
  const detail = (answer.json() as { detail: { loc: unknown[]; type: string }[] }).detail
  return detail.map((problem) => [problem.loc, problem.type])
}

export function usersContract(name: string, start: () => Promise<ApiTarget>): void {
  describe(`the users API ${name}`, () => {
    let target: ApiTarget
    let call: Call
    let asAdmin: Record<string, string>
    const password = 'a good long password'

    async function signIn(username: string, secret: string): Promise<Record<string, string>> {
      const answer = await call('POST', '/auth/token', { headers: FORM, body: new URLSearchParams({ username, password: secret }).toString() })
      assert.equal(answer.status, 200, answer.text)
      return { authorization: `Bearer ${(answer.json() as { access_token: string }).access_token}` }
    }

    /** A user made through POST /users, and their Authorization header. */
    async function newUser(fields: Record<string, unknown> = {}): Promise<{ user: UserBody; auth: Record<string, string> }> {
      const username = uniqueName(String(fields.prefix ?? 'u')).replace(/_/g, '.')
      const { prefix: _, ...rest } = fields
      const answer = await call('POST', '/users', { headers: { ...asAdmin, ...JSON_BODY }, body: JSON.stringify({ username, email: `${username}@example.com`, password, ...rest }) })
      assert.equal(answer.status, 201, answer.text)
      return { user: answer.json() as UserBody, auth: await signIn(username, password) }
    }

    /** Every answer of the cases below, checked against the document by the last case. */
    const answered: { method: string; path: string; answer: Answer }[] = []

    before(async () => {
      target = await start()
      call = async (method, path, options) => {
        const answer = await target.call(method, path, options)
        answered.push({ method, path, answer })
        return answer
      }
      asAdmin = await signIn(target.admin.username, target.admin.password)
    })
    after(async () => {
      await target?.close()
    })

    it('GET /health: 200 {"status": "ok"}', async () => {
      const answer = await call('GET', '/health')
      assert.equal(answer.status, 200)
      assert.deepEqual(answer.json(), { status: 'ok' })
      assert.match(answer.headers['content-type'] ?? '', /^application\/json/)
    })

    describe('POST /auth/token', () => {
      it('200 with a bearer token for the right password (urlencoded or multipart)', async () => {
        const { user } = await newUser()
        const answer = await call('POST', '/auth/token', { headers: FORM, body: new URLSearchParams({ username: user.username, password }).toString() })
        assert.equal(answer.status, 200)
        const token = answer.json() as Record<string, unknown>
        assert.deepEqual(Object.keys(token).sort(), ['access_token', 'expires_in', 'token_type'])
        assert.equal(token.token_type, 'bearer')
        assert.ok(Number(token.expires_in) > 0)
        const boundary = 'contract-boundary'
        const multipart = [`--${boundary}`, 'Content-Disposition: form-data; name="username"', '', user.username, `--${boundary}`, 'Content-Disposition: form-data; name="password"', '', password, `--${boundary}--`, ''].join('\r\n')
        const again = await call('POST', '/auth/token', { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: multipart })
        assert.equal(again.status, 200, again.text)
      })

      it('401 "Incorrect username or password" with WWW-Authenticate for a wrong password, an unknown user, an inactive user', async () => {
        const { user } = await newUser()
        const { user: idle } = await newUser()
        assert.equal((await call('PATCH', `/users/${idle.id}`, { headers: { ...asAdmin, ...JSON_BODY }, body: '{"is_active": false}' })).status, 200)
        for (const [username, secret] of [
          [user.username, 'not the password'],
          [uniqueName('nobody'), password],
          [idle.username, password],
        ] as const) {
          const answer = await call('POST', '/auth/token', { headers: FORM, body: new URLSearchParams({ username, password: secret }).toString() })
          assert.equal(answer.status, 401)
          assert.deepEqual(answer.json(), { detail: 'Incorrect username or password' })
          assert.equal(answer.headers['www-authenticate'], 'Bearer')
        }
      })

      it('422 at ["body", "username"] for a missing field; 400 for a body that cannot be read', async () => {
        const missing = await call('POST', '/auth/token', { headers: FORM, body: 'password=x' })
        assert.equal(missing.status, 422)
        assert.deepEqual(problems(missing), [[['body', 'username'], 'missing']])
        const broken = await call('POST', '/auth/token', { headers: { 'content-type': 'multipart/form-data; boundary=zzz' }, body: '--zzz\r\nno headers here' })
        assert.equal(broken.status, 400)
        assert.deepEqual(broken.json(), { detail: 'There was an error parsing the body' })
      })
    })

    describe('authentication on /users routes', () => {
      it('401 "Not authenticated" without a token; 401 for a bad token; both with WWW-Authenticate', async () => {
        // A body the route can read: as in FastAPI, an unreadable body is answered before the caller is checked.
        const json = { headers: JSON_BODY, body: '{}' }
        const image = { headers: { 'content-type': 'image/png' }, body: PNG }
        for (const [method, path, request] of [
          ['GET', '/users/me', {}],
          ['GET', '/users', {}],
          ['GET', '/users/1', {}],
          ['POST', '/users', json],
          ['PATCH', '/users/1', json],
          ['DELETE', '/users/1', {}],
          ['PUT', '/users/1/avatar', image],
          ['GET', '/users/1/avatar', {}],
        ] as const) {
          const none = await call(method, path, request)
          assert.equal(none.status, 401, `${method} ${path}`)
          assert.deepEqual(none.json(), { detail: 'Not authenticated' })
          assert.equal(none.headers['www-authenticate'], 'Bearer')
          const bad = await call(method, path, { ...request, headers: { ...('headers' in request ? request.headers : {}), authorization: 'Bearer abc.def.ghi' } })
          assert.equal(bad.status, 401, `${method} ${path}`)
          assert.equal(bad.headers['www-authenticate'], 'Bearer')
        }
      })

      it('401 once the user is deactivated or deleted', async () => {
        const a = await newUser()
        const b = await newUser()
        assert.equal((await call('GET', '/users/me', { headers: a.auth })).status, 200)
        await call('PATCH', `/users/${a.user.id}`, { headers: { ...asAdmin, ...JSON_BODY }, body: '{"is_active": false}' })
        assert.equal((await call('GET', '/users/me', { headers: a.auth })).status, 401)
        await call('DELETE', `/users/${b.user.id}`, { headers: asAdmin })
        assert.equal((await call('GET', '/users/me', { headers: b.auth })).status, 401)
      })

      it('403 "Not enough permissions" for a role that may not', async () => {
        const { user, auth } = await newUser({ role: 'admin' })
        for (const [method, path] of [
          ['GET', '/users'],
          ['POST', '/users'],
          ['DELETE', `/users/${user.id}`],
        ] as const) {
          const answer = await call(method, path, { headers: { ...auth, ...JSON_BODY }, ...(method === 'POST' ? { body: '{}' } : {}) })
          assert.equal(answer.status, 403, `${method} ${path}`)
          assert.deepEqual(answer.json(), { detail: 'Not enough permissions' })
        }
      })
    })

    describe('GET /users/me and GET /users/{id}', () => {
      it('the caller, as a User, never with a password', async () => {
        const { user, auth } = await newUser({ full_name: 'Me Myself' })
        const answer = await call('GET', '/users/me', { headers: auth })
        assert.equal(answer.status, 200)
        const body = answer.json() as UserBody
        assert.deepEqual(Object.keys(body).sort(), ['created_at', 'email', 'full_name', 'id', 'is_active', 'role', 'updated_at', 'username'])
        assert.equal(body.id, user.id)
        assert.equal(body.full_name, 'Me Myself')
        assert.match(body.created_at, ISO_UTC)
        assert.equal(body.updated_at, null)
        assert.doesNotMatch(answer.text, /password/)
      })

      it('a super_admin reads anyone, a user themselves; 403 for another, 404 "User not found", 422 for a bad id', async () => {
        const a = await newUser()
        const b = await newUser()
        assert.equal((await call('GET', `/users/${a.user.id}`, { headers: asAdmin })).status, 200)
        assert.deepEqual((await call('GET', `/users/${a.user.id}`, { headers: a.auth })).json(), a.user)
        assert.equal((await call('GET', `/users/${b.user.id}`, { headers: a.auth })).status, 403)
        const missing = await call('GET', '/users/999999999', { headers: asAdmin })
        assert.equal(missing.status, 404)
        assert.deepEqual(missing.json(), { detail: 'User not found' })
        const bad = await call('GET', '/users/abc', { headers: asAdmin })
        assert.equal(bad.status, 422)
        assert.deepEqual(problems(bad), [[['path', 'id'], 'int_parsing']])
      })
    })

    describe('GET /users', () => {
      it('pages of active users in id order, searched literally, with the total of all matches', async () => {
        const tag = uniqueName('q').replace(/_/g, 'x')
        const made: UserBody[] = []
        for (const fullName of [`50% off ${tag}`, `50x off ${tag}`, `a_c ${tag}`, `abc ${tag}`]) made.push((await newUser({ full_name: fullName })).user)
        await call('PATCH', `/users/${(made[3] as UserBody).id}`, { headers: { ...asAdmin, ...JSON_BODY }, body: '{"is_active": false}' })
        const all = await call('GET', '/users', { headers: asAdmin, query: { search: tag.toUpperCase() } })
        assert.equal(all.status, 200)
        const page = all.json() as { items: UserBody[]; page: number; results_per_page: number; total: number }
        assert.deepEqual(
          { page: page.page, results_per_page: page.results_per_page, total: page.total },
          { page: 1, results_per_page: 13, total: 3 },
        )
        assert.deepEqual(
          page.items.map((item) => item.id),
          made.slice(0, 3).map((item) => item.id),
        )
        const second = (await call('GET', '/users', { headers: asAdmin, query: { search: tag, page: '2', results_per_page: '2' } })).json() as typeof page
        assert.deepEqual(
          [second.items.length, second.total],
          [1, 3],
        )
        const percent = (await call('GET', '/users', { headers: asAdmin, query: { search: `0% off ${tag}` } })).json() as typeof page
        assert.deepEqual(
          percent.items.map((item) => item.full_name),
          [`50% off ${tag}`],
        )
        const underscore = (await call('GET', '/users', { headers: asAdmin, query: { search: `a_c ${tag}` } })).json() as typeof page
        assert.deepEqual(
          underscore.items.map((item) => item.full_name),
          [`a_c ${tag}`],
        )
      })

      it('422 for page < 1, results_per_page outside 1-100, or a page that is not an integer, all at once', async () => {
        const answer = await call('GET', '/users', { headers: asAdmin, query: { page: '0', results_per_page: '101' } })
        assert.equal(answer.status, 422)
        assert.deepEqual(problems(answer), [
          [['query', 'page'], 'greater_than_equal'],
          [['query', 'results_per_page'], 'less_than_equal'],
        ])
        assert.deepEqual(problems(await call('GET', '/users', { headers: asAdmin, query: { page: 'x', results_per_page: '0' } })), [
          [['query', 'page'], 'int_parsing'],
          [['query', 'results_per_page'], 'greater_than_equal'],
        ])
      })
    })

    describe('POST /users', () => {
      it('201 with the User and Location; unknown fields ignored; the password never echoed', async () => {
        const username = uniqueName('new').replace(/_/g, '-')
        const answer = await call('POST', '/users', {
          headers: { ...asAdmin, ...JSON_BODY },
          body: JSON.stringify({ username, email: `${username}@Example.com`, password, full_name: 'New One', role: 'admin', shoe_size: 44 }),
        })
        assert.equal(answer.status, 201, answer.text)
        const user = answer.json() as UserBody
        assert.equal(answer.headers.location, `/users/${user.id}`)
        assert.deepEqual(
          { username: user.username, full_name: user.full_name, role: user.role, is_active: user.is_active, updated_at: user.updated_at },
          { username, full_name: 'New One', role: 'admin', is_active: true, updated_at: null },
        )
        assert.doesNotMatch(answer.text, /password|shoe_size/)
        assert.match((await signIn(username, password)).authorization ?? '', /^Bearer /)
      })

      it('409 for a taken username, or an email taken in any case', async () => {
        const { user } = await newUser()
        const sameName = await call('POST', '/users', { headers: { ...asAdmin, ...JSON_BODY }, body: JSON.stringify({ username: user.username, email: `${uniqueName('x')}@example.com`, password }) })
        assert.equal(sameName.status, 409)
        assert.equal(typeof (sameName.json() as { detail: unknown }).detail, 'string')
        const sameEmail = await call('POST', '/users', {
          headers: { ...asAdmin, ...JSON_BODY },
          body: JSON.stringify({ username: uniqueName('y').replace(/_/g, '.'), email: user.email.toUpperCase(), password }),
        })
        assert.equal(sameEmail.status, 409)
      })

      it('422 listing every field that breaks the rules', async () => {
        const answer = await call('POST', '/users', {
          headers: { ...asAdmin, ...JSON_BODY },
          body: JSON.stringify({ username: 'No Spaces!', email: 'not-an-email', password: 'short', full_name: 'x'.repeat(101), role: 'emperor' }),
        })
        assert.equal(answer.status, 422)
        assert.deepEqual(
          problems(answer).map(([loc]) => loc),
          [
            ['body', 'username'],
            ['body', 'email'],
            ['body', 'password'],
            ['body', 'full_name'],
            ['body', 'role'],
          ],
        )
        const missing = await call('POST', '/users', { headers: { ...asAdmin, ...JSON_BODY }, body: '{}' })
        assert.deepEqual(problems(missing), [
          [['body', 'username'], 'missing'],
          [['body', 'email'], 'missing'],
          [['body', 'password'], 'missing'],
        ])
      })

      it('422 json_invalid at the offset where the JSON breaks; 415 for another content type', async () => {
        const broken = await call('POST', '/users', { headers: { ...asAdmin, ...JSON_BODY }, body: '{"username": "abc",}' })
        assert.equal(broken.status, 422)
        assert.deepEqual(problems(broken), [[['body', 19], 'json_invalid']])
        const form = await call('POST', '/users', { headers: { ...asAdmin, ...FORM }, body: 'username=abc' })
        assert.equal(form.status, 415)
        assert.equal(typeof (form.json() as { detail: unknown }).detail, 'string')
      })
    })

    describe('PATCH /users/{id}', () => {
      it('a super_admin changes anything, and updated_at is set', async () => {
        const { user } = await newUser()
        const answer = await call('PATCH', `/users/${user.id}`, { headers: { ...asAdmin, ...JSON_BODY }, body: JSON.stringify({ role: 'admin', full_name: 'Promoted', is_active: true }) })
        assert.equal(answer.status, 200, answer.text)
        const changed = answer.json() as UserBody
        assert.equal(changed.role, 'admin')
        assert.equal(changed.full_name, 'Promoted')
        assert.match(changed.updated_at ?? '', ISO_UTC)
      })

      it('a user changes their own email, full name and password, and nothing else', async () => {
        const { user, auth } = await newUser()
        const email = `${uniqueName('moved')}@example.com`
        const own = await call('PATCH', `/users/${user.id}`, { headers: { ...auth, ...JSON_BODY }, body: JSON.stringify({ email, full_name: 'Renamed', password: 'another long password' }) })
        assert.equal(own.status, 200, own.text)
        assert.equal((own.json() as UserBody).email, email)
        // The password change ended the token it was made with (the change's own answer is its 200).
        assert.equal((await call('GET', '/users/me', { headers: auth })).status, 401)
        const signedIn = await signIn(user.username, 'another long password')
        for (const body of ['{"role": "super_admin"}', '{"is_active": false}']) {
          const answer = await call('PATCH', `/users/${user.id}`, { headers: { ...signedIn, ...JSON_BODY }, body })
          assert.equal(answer.status, 403, body)
          assert.deepEqual(answer.json(), { detail: 'Not enough permissions' })
        }
        const { user: other } = await newUser()
        assert.equal((await call('PATCH', `/users/${other.id}`, { headers: { ...signedIn, ...JSON_BODY }, body: '{"full_name": "Hacked"}' })).status, 403)
      })

      it('404 for no such user; 409 for an email another user has; 422 for a bad field', async () => {
        assert.equal((await call('PATCH', '/users/999999999', { headers: { ...asAdmin, ...JSON_BODY }, body: '{"full_name": "x"}' })).status, 404)
        const a = await newUser()
        const b = await newUser()
        const taken = await call('PATCH', `/users/${a.user.id}`, { headers: { ...asAdmin, ...JSON_BODY }, body: JSON.stringify({ email: b.user.email }) })
        assert.equal(taken.status, 409)
        const bad = await call('PATCH', `/users/${a.user.id}`, { headers: { ...asAdmin, ...JSON_BODY }, body: '{"role": "emperor", "is_active": "perhaps"}' })
        assert.equal(bad.status, 422)
        assert.deepEqual(
          problems(bad).map(([loc]) => loc),
          [
            ['body', 'role'],
            ['body', 'is_active'],
          ],
        )
      })
    })

    describe('DELETE /users/{id}', () => {
      it('204 with an empty body, then 404', async () => {
        const { user } = await newUser()
        const answer = await call('DELETE', `/users/${user.id}`, { headers: asAdmin })
        assert.equal(answer.status, 204)
        assert.equal(answer.bytes.length, 0)
        const again = await call('DELETE', `/users/${user.id}`, { headers: asAdmin })
        assert.equal(again.status, 404)
        assert.deepEqual(again.json(), { detail: 'User not found' })
      })
    })

    describe('avatars', () => {
      it('stores the bytes and returns them exactly, with their type, to any user', async () => {
        const { user, auth } = await newUser()
        const other = await newUser()
        const put = await call('PUT', `/users/${user.id}/avatar`, { headers: { ...auth, 'content-type': 'image/png' }, body: PNG })
        assert.equal(put.status, 204, put.text)
        const got = await call('GET', `/users/${user.id}/avatar`, { headers: other.auth })
        assert.equal(got.status, 200)
        assert.equal(got.headers['content-type'], 'image/png')
        assert.deepEqual(got.bytes, PNG)
        // Every byte value, replaced by a super_admin as WebP.
        const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
        assert.equal((await call('PUT', `/users/${user.id}/avatar`, { headers: { ...asAdmin, 'content-type': 'image/webp' }, body: every })).status, 204)
        const replaced = await call('GET', `/users/${user.id}/avatar`, { headers: auth })
        assert.equal(replaced.headers['content-type'], 'image/webp')
        assert.deepEqual(replaced.bytes, every)
      })

      it('415 for another type, 413 over 1 MiB, 403 for another user, 404 for no such user', async () => {
        const { user, auth } = await newUser()
        const text = await call('PUT', `/users/${user.id}/avatar`, { headers: { ...auth, 'content-type': 'text/plain' }, body: 'hello' })
        assert.equal(text.status, 415)
        const large = await call('PUT', `/users/${user.id}/avatar`, { headers: { ...auth, 'content-type': 'image/jpeg' }, body: Buffer.alloc(1024 * 1024 + 1) })
        assert.equal(large.status, 413)
        const exact = await call('PUT', `/users/${user.id}/avatar`, { headers: { ...auth, 'content-type': 'image/jpeg' }, body: Buffer.alloc(1024 * 1024, 7) })
        assert.equal(exact.status, 204, 'exactly 1 MiB is allowed')
        const other = await newUser()
        assert.equal((await call('PUT', `/users/${other.user.id}/avatar`, { headers: { ...auth, 'content-type': 'image/png' }, body: PNG })).status, 403)
        assert.equal((await call('PUT', '/users/999999999/avatar', { headers: { ...asAdmin, 'content-type': 'image/png' }, body: PNG })).status, 404)
      })

      it('404 "Avatar not found" when there is none', async () => {
        const { user, auth } = await newUser()
        const answer = await call('GET', `/users/${user.id}/avatar`, { headers: auth })
        assert.equal(answer.status, 404)
        assert.deepEqual(answer.json(), { detail: 'Avatar not found' })
      })
    })

    describe('bodies as pydantic and Starlette read them', () => {
      it('counts lengths in characters (code points), not UTF-16 units', async () => {
        const emoji = '\u{1F600}' // one character, two UTF-16 units
        const { user } = await newUser({ full_name: emoji.repeat(100) })
        assert.equal([...(user.full_name ?? '')].length, 100)
        const long = await call('PATCH', `/users/${user.id}`, { headers: { ...asAdmin, ...JSON_BODY }, body: JSON.stringify({ full_name: emoji.repeat(101) }) })
        assert.equal(long.status, 422)
        assert.deepEqual(problems(long), [[['body', 'full_name'], 'string_too_long']])
        assert.match(long.text, /String should have at most 100 characters/)
        const short = await call('PATCH', `/users/${user.id}`, { headers: { ...asAdmin, ...JSON_BODY }, body: JSON.stringify({ password: emoji.repeat(4) }) })
        assert.deepEqual(problems(short), [[['body', 'password'], 'string_too_short']])
      })

      it('422 model_attributes_type for a JSON array where an object is expected, and nothing changes', async () => {
        const { user } = await newUser()
        const answer = await call('PATCH', `/users/${user.id}`, { headers: { ...asAdmin, ...JSON_BODY }, body: '[]' })
        assert.equal(answer.status, 422)
        assert.deepEqual(problems(answer), [[['body'], 'model_attributes_type']])
        assert.equal(((await call('GET', `/users/${user.id}`, { headers: asAdmin })).json() as UserBody).updated_at, null)
      })

      it('415 for a Content-Type that names no media type', async () => {
        for (const type of [';;;', 'json', '/json']) {
          const answer = await call('POST', '/users', { headers: { ...asAdmin, 'content-type': type }, body: JSON.stringify({ username: 'x', email: 'x@example.com', password }) })
          assert.equal(answer.status, 415, type)
        }
        const form = await call('POST', '/auth/token', { headers: { 'content-type': ';' }, body: 'username=a&password=b' })
        assert.equal(form.status, 415)
      })

      it('400 for a multipart body of more than 1,000 fields, as Starlette answers', async () => {
        const boundary = 'many-fields'
        const part = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
        const fields = Array.from({ length: 1001 }, (_, i) => part(`f${i}`, 'x')).join('')
        const many = await call('POST', '/auth/token', { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: `${part('username', 'a')}${part('password', 'b')}${fields}--${boundary}--\r\n` })
        assert.equal(many.status, 400)
        assert.deepEqual(many.json(), { detail: 'Too many fields. Maximum number of fields is 1000.' })
        const enough = Array.from({ length: 998 }, (_, i) => part(`f${i}`, 'x')).join('')
        const fine = await call('POST', '/auth/token', { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: `${part('username', 'nobody')}${part('password', 'b')}${enough}--${boundary}--\r\n` })
        assert.equal(fine.status, 401, '1,000 fields are read')
      })
    })

    describe('safety headers', () => {
      it('every answer says nosniff, and that no browser or shared cache may store it', async () => {
        const { user, auth } = await newUser()
        // An avatar of HTML bytes, sent as image/png: served as image/png, never sniffed as HTML.
        assert.equal((await call('PUT', `/users/${user.id}/avatar`, { headers: { ...auth, 'content-type': 'image/png' }, body: '<script>alert(1)</script>' })).status, 204)
        const answers: [string, Answer][] = [
          ['token', await call('POST', '/auth/token', { headers: FORM, body: new URLSearchParams({ username: user.username, password }).toString() })],
          ['wrong password', await call('POST', '/auth/token', { headers: FORM, body: new URLSearchParams({ username: user.username, password: 'not it' }).toString() })],
          ['me', await call('GET', '/users/me', { headers: auth })],
          ['list', await call('GET', '/users', { headers: asAdmin })],
          ['a user', await call('GET', `/users/${user.id}`, { headers: asAdmin })],
          ['avatar', await call('GET', `/users/${user.id}/avatar`, { headers: auth })],
          ['no token', await call('GET', '/users/me')],
          ['422', await call('GET', '/users', { headers: asAdmin, query: { page: '0' } })],
          ['404', await call('GET', '/nowhere')],
          ['405', await call('POST', '/users/me')],
          ['health', await call('GET', '/health')],
        ]
        for (const [what, answer] of answers) {
          assert.equal(answer.headers['x-content-type-options'], 'nosniff', what)
          assert.equal(answer.headers['cache-control'], 'no-store', what)
        }
        assert.equal(answers[5]?.[1].headers['content-type'], 'image/png')
      })
    })

    describe('text PostgreSQL cannot store (a NUL character)', () => {
      it('is refused in every text field of every route, at its place (sign-in: 401), never a 500', async () => {
        const { user } = await newUser()
        const nul = 'a\u0000b'
        // Requests that would succeed but for the one field given a NUL.
        const fields: Record<string, Record<string, string>> = {
          'POST /auth/token': { username: user.username, password },
          'POST /users': { username: uniqueName('nul').replace(/_/g, '.'), email: 'nul.sweep@example.com', password, full_name: 'Nul Sweep', role: 'user' },
          'PATCH /users/{id}': { email: 'nul.patch@example.com', full_name: 'Nul Patch', password, role: 'user' },
        }
        for (const { route, location, field, status } of NUL_CASES) {
          const [method, template] = route.split(' ') as [string, string]
          const path = template.replace('{id}', location === 'path' ? encodeURIComponent(nul) : String(user.id))
          const given = { ...fields[route], [field]: nul }
          let options: CallOptions = { headers: asAdmin }
          if (route === 'POST /auth/token') options = { headers: FORM, body: new URLSearchParams(given).toString() }
          else if (location === 'query') options = { headers: asAdmin, query: { [field]: nul } }
          else if (route === 'PUT /users/{id}/avatar') options = { headers: { ...asAdmin, 'content-type': 'image/png' }, body: PNG }
          else if (method === 'POST' || method === 'PATCH') options = { headers: { ...asAdmin, ...JSON_BODY }, body: JSON.stringify(given) }
          const answer = await call(method, path, options)
          const what = `${route}, ${location} ${field}`
          assert.equal(answer.status, status, `${what}: ${answer.text}`)
          if (status === 422) assert.ok(problems(answer).some(([loc]) => JSON.stringify(loc) === JSON.stringify([location, field])), `${what}: ${answer.text}`)
        }
        // Nothing was changed by the refused writes.
        const after = (await call('GET', `/users/${user.id}`, { headers: asAdmin })).json() as UserBody
        assert.deepEqual([after.email, after.full_name, after.updated_at], [user.email, user.full_name, null])
      })
    })

    describe('routes that do not exist', () => {
      it('404 "Not Found" for an unknown path; 405 with Allow for a known path and another method', async () => {
        const missing = await call('GET', '/nowhere')
        assert.equal(missing.status, 404)
        assert.deepEqual(missing.json(), { detail: 'Not Found' })
        const wrong = await call('POST', '/users/me')
        assert.equal(wrong.status, 405)
        assert.deepEqual(wrong.json(), { detail: 'Method Not Allowed' })
        assert.match(wrong.headers.allow ?? '', /GET/)
      })
    })

    // Last: what every case above was answered, against the document this API serves.
    it('answers every request above as the OpenAPI document it serves says: status, media type, body and headers; every route, success and error', async () => {
      const served = await target.call('GET', '/openapi.json')
      assert.equal(served.status, 200)
      const document = served.json() as OpenApiDocument
      const checker = await documentCheck(document)
      const checked = answered.filter((item) => checker.operationOf(item.method, item.path) !== undefined).map((item) => checker.check(item.method, item.path, item.answer))
      const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, operation })))
      for (const { key, operation } of operations) {
        const statuses = new Set(checked.filter((item) => item.operation === key).map((item) => item.status))
        assert.ok([...statuses].some((status) => status < 300), `${key}: no success answer was checked`)
        const errors = Object.keys(operation.responses).filter((status) => Number(status) >= 400)
        if (errors.length > 0) assert.ok([...statuses].some((status) => status >= 400), `${key}: no error answer was checked`)
      }
      assert.ok(checked.length > 100, `only ${checked.length} answers checked`)
    })
  })
}
