/**
 * `npm run dev` as a user meets it: a child process, its printed lines, HTTP on loopback,
 * Ctrl-C (SIGINT), and a restart on the same data folder.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { runTool } from '../support/cli.ts'
import { startDev, stopDev } from '../support/dev-server.ts'
import { externalUrl, uniqueName } from '../support/database.ts'

const SERVER = 'lib/dev/server.ts'

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { headers })
  return { status: response.status, body: await response.json() }
}

/** Signs in with the OAuth2 password form and returns the Authorization header to send. */
async function signIn(api: string, username: string, password: string): Promise<Record<string, string>> {
  const response = await fetch(`${api}/auth/token`, { method: 'POST', body: new URLSearchParams({ username, password }) })
  assert.equal(response.status, 200, await response.clone().text())
  const { access_token: token, token_type: type } = (await response.json()) as { access_token: string; token_type: string }
  assert.equal(type, 'bearer')
  return { authorization: `Bearer ${token}` }
}

function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { DATABASE_URL: undefined, ADMIN_USERNAME: undefined, ADMIN_PASSWORD: undefined, ...extra }
}

/** Asserts the one-line failure of a command that cannot start. */
function assertOneLineError(result: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  assert.notEqual(result.code, 0)
  const lines = result.stderr.trim().split('\n')
  assert.equal(lines.length, 1, `expected one line, got:\n${result.stderr}`)
  assert.match(lines[0] ?? '', pattern)
  assert.doesNotMatch(result.stderr, /\s+at .+:\d+:\d+/, 'no stack trace')
}

describe('npm run dev on the embedded database', () => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'dev-server-test-'))
  const env = cleanEnv({ PGLITE_DATA_DIR: join(dataRoot, 'pglite') })
  after(() => rmSync(dataRoot, { recursive: true, force: true }))

  it('serves /health and the first super_admin, and keeps committed data across Ctrl-C and a restart', async () => {
    const first = await startDev(env)
    let written: number
    try {
      assert.deepEqual(await getJson(`${first.api}/health`), { status: 200, body: { status: 'ok' } })
      const asAdmin = await signIn(first.api, 'admin', 'admin-dev-password')
      const admin = await getJson(`${first.api}/users/me`, asAdmin)
      assert.equal(admin.status, 200)
      assert.equal((admin.body as { role: string }).role, 'super_admin')
      assert.match(first.output(), /password "admin-dev-password" \(development default/)

      // Written over the Postgres protocol, as psql would, to the URL the server printed.
      assert.ok(first.psql, first.output())
      const client = new pg.Client({ connectionString: first.psql })
      await client.connect()
      const username = uniqueName('persisted')
      const { rows } = await client.query(
        `INSERT INTO users (username, email, password_hash) VALUES ($1, $2, 'x') RETURNING id`,
        [username, `${username}@example.com`],
      )
      await client.end()
      written = Number(rows[0].id)
      assert.equal((await getJson(`${first.api}/users/${written}`, asAdmin)).status, 200)
    } finally {
      assert.equal(await stopDev(first), 0, first.output())
    }
    assert.match(first.output(), /SIGINT: stopping\nstopped\n/)

    const second = await startDev(env)
    try {
      assert.match(second.output(), /migrate\s+up to date/)
      assert.match(second.output(), /super_admin "admin" exists/)
      const asAdmin = await signIn(second.api, 'admin', 'admin-dev-password')
      const user = await getJson(`${second.api}/users/${written}`, asAdmin)
      assert.equal(user.status, 200)
      assert.equal((user.body as { id: number }).id, written)
    } finally {
      assert.equal(await stopDev(second), 0)
    }
  })

  it('refuses to open a data folder that another dev server holds', async () => {
    const running = await startDev(env)
    try {
      const result = await runTool(SERVER, { ...env, PORT: '0' })
      assertOneLineError(result, /^error: PGLITE_DATA_DIR: .* is in use by another process \(pid \d+\); stop it first$/)
    } finally {
      await stopDev(running)
    }
  })
})

describe('npm run dev with bad configuration', () => {
  it('names PORT in one line when it is not a number', async () => {
    assertOneLineError(await runTool(SERVER, cleanEnv({ PORT: 'abc' })), /^error: PORT: must be a whole number$/)
  })

  it('names PORT in one line when the port is taken', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const { port } = blocker.address() as { port: number }
    try {
      const result = await runTool(SERVER, cleanEnv({ PORT: String(port) }))
      assertOneLineError(result, new RegExp(`^error: PORT: cannot listen on 127.0.0.1:${port} \\(already in use\\)$`))
    } finally {
      blocker.close()
    }
  })

  it('names WS_PROXY_PORT in one line when the port is taken', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const { port } = blocker.address() as { port: number }
    try {
      const result = await runTool(SERVER, cleanEnv({ PORT: '0', PGLITE_DATA_DIR: 'memory://', WS_PROXY_PORT: String(port) }))
      assertOneLineError(result, new RegExp(`^error: WS_PROXY_PORT: cannot listen on 127.0.0.1:${port} \\(already in use\\)$`))
    } finally {
      blocker.close()
    }
  })

  it('names DATABASE_URL in one line when it is not a postgres URL', async () => {
    const result = await runTool(SERVER, cleanEnv({ DATABASE_URL: 'mysql://root:secret-pw@localhost/app' }))
    assertOneLineError(result, /^error: DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/)
    assert.doesNotMatch(result.stderr, /secret-pw/)
  })

  it('names CORS_ORIGINS in one line when it lists something that is not an origin', async () => {
    const result = await runTool(SERVER, cleanEnv({ CORS_ORIGINS: 'https://app.example.com/app' }))
    assertOneLineError(result, /^error: CORS_ORIGINS: must be origins separated by commas/)
  })

  it('names DATABASE_URL in one line when nothing listens at its address', async () => {
    const result = await runTool(SERVER, cleanEnv({ DATABASE_URL: 'postgres://postgres:secret-pw@127.0.0.1:1/app' }))
    assertOneLineError(
      result,
      /^error: DATABASE_URL: cannot reach the database at 127\.0\.0\.1:1 \(connection refused: is PostgreSQL running\?\)$/,
    )
    assert.doesNotMatch(result.stderr, /secret-pw/)
  })
})

describe('npm run dev with DATABASE_URL', { skip: externalUrl === undefined && 'DATABASE_URL is not set' }, () => {
  it('serves from that server instead of PGlite', async () => {
    const running = await startDev(cleanEnv({ DATABASE_URL: externalUrl }))
    try {
      assert.match(running.output(), /\(DATABASE_URL\)/)
      assert.doesNotMatch(running.output(), /PGlite/)
      assert.deepEqual(await getJson(`${running.api}/health`), { status: 200, body: { status: 'ok' } })
    } finally {
      assert.equal(await stopDev(running), 0)
    }
  })

  it('names DATABASE_URL in one line when the server refuses the login', async () => {
    const url = new URL(externalUrl ?? '')
    url.pathname = '/no_such_database_here'
    const result = await runTool(SERVER, cleanEnv({ DATABASE_URL: url.toString() }))
    assertOneLineError(result, /^error: DATABASE_URL: cannot connect: database "no_such_database_here" does not exist$/)
  })
})
