/**
 * The app's type works with Hono's typed clients: `hc<Api>()` (lib/generated/routes.ts has
 * the type of every route) and `testClient()`, against the service's routes on a real
 * database. Paths, parameters, bodies and answers are typed from the routes themselves;
 * the `@ts-expect-error` lines are calls that must not compile (`npm run typecheck` fails
 * when one of them does).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { hc } from 'hono/client'
import { testClient } from 'hono/testing'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { loadFunctions } from '../../lib/functions.ts'
import { createApp, type App } from '../../lib/http/app.ts'
import type { Api } from '../../lib/generated/routes.ts'
import { createUser, type TestUser } from '../support/auth.ts'
import { functionEnv, startTestDatabase, uniqueName } from '../support/database.ts'

describe('typed clients of the users API', () => {
  let database: DevDatabase
  let app: App
  let admin: TestUser
  let client: ReturnType<typeof hc<Api>>

  before(async () => {
    database = await startTestDatabase()
    admin = await createUser(database.url, { prefix: 'typed', role: 'super_admin' })
    app = createApp({ routes: (await loadFunctions()).map((item) => item.route), env: functionEnv(database) })
    await app.startup()
    client = hc<Api>('http://users.local', { fetch: (input: RequestInfo | URL, init?: RequestInit) => app.hono.request(input, init) })
  })
  after(async () => {
    await app?.shutdown()
    await database?.close()
  })

  async function signIn(): Promise<{ authorization: string }> {
    const answer = await client.auth.token.$post({ form: { username: admin.username, password: admin.password } })
    assert.equal(answer.status, 200)
    const token = await answer.json()
    // Typed from the route's response model: a string and the literal 'bearer'.
    const kind: 'bearer' = token.token_type
    assert.equal(kind, 'bearer')
    return { authorization: `Bearer ${token.access_token}` }
  }

  it('signs in, creates a user and reads it back, every value typed from the routes', async () => {
    const headers = await signIn()
    const username = uniqueName('typed').replace(/_/g, '.')
    const created = await client.users.$post({ json: { username, email: `${username}@example.com`, password: 'a good long password' } }, { headers })
    assert.equal(created.status, 201)
    const user = await created.json()
    const id: number = user.id
    const read = await client.users[':id'].$get({ param: { id: String(id) } }, { headers })
    assert.equal(read.status, 200)
    const again = await read.json()
    const createdAt: string = again.created_at
    assert.equal(again.username, username)
    assert.match(createdAt, /\+00:00$/)
    const page = await client.users.$get({ query: { search: username, results_per_page: '5' } }, { headers })
    const listed = await page.json()
    assert.deepEqual(
      listed.items.map((item) => item.id),
      [id],
    )
  })

  it('types testClient() the same way', async () => {
    const local = testClient(app.hono as unknown as Api)
    const answer = await local.health.$get()
    const body = await answer.json()
    const status: 'ok' | 'degraded' = body.status
    assert.equal(status, 'ok')
  })

  it('refuses, at compile time, calls the routes do not take', () => {
    // Only compiled, never run: each line is an error tsc must report.
    const misuse = () => {
      // @ts-expect-error `idd` is not the route's parameter (it is `id`)
      void client.users[':id'].$get({ param: { idd: '1' } })
      // @ts-expect-error POST /users takes JSON, not a form
      void client.users.$post({ form: { username: 'x' } })
      // @ts-expect-error no route serves PUT /users
      void client.users.$put({})
      // @ts-expect-error the answer of GET /health has no `detail`
      void client.health.$get().then(async (answer) => (await answer.json()).detail)
    }
    assert.equal(typeof misuse, 'function')
  })
})
