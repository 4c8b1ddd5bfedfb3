/**
 * GET /openapi.json and GET /docs: the document covers every route of the manifest with the
 * types, names and answers generators read; the page, Swagger UI opened in a real headless
 * Chromium (Debian's package), signs in with its own Authorize dialog and runs a route.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { serve, type ServerType } from '@hono/node-server'
import { chromium, type Browser } from 'playwright-core'
import { createApp, type App } from '../../lib/http/app.ts'
import { MANIFEST } from '../../lib/manifest.ts'
import { route as docsPage } from '../../functions/docs/get.ts'
import { route as docsFiles } from '../../functions/docs/[file]/get.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { createUser, type TestUser } from '../support/auth.ts'
import { functionEnv, startTestDatabase } from '../support/database.ts'
import { getMe, login } from '../support/routes.ts'
import { route as openapi } from '../../functions/openapi.json/get.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const DOCUMENTED = MANIFEST.filter((entry) => !entry.path.startsWith('/docs') && entry.path !== '/openapi.json')

describe('API documentation', () => {
  let database: DevDatabase
  let user: TestUser
  let app: App
  let server: ServerType
  let base: string

  before(async () => {
    database = await startTestDatabase()
    user = await createUser(database.url, { prefix: 'docs' })
    app = createApp({ routes: [openapi, docsPage, docsFiles, login, getMe], env: functionEnv(database) })
    await app.startup()
    server = serve({ fetch: app.hono.fetch, hostname: '127.0.0.1', port: 0 })
    await new Promise((resolve) => server.once('listening', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    await new Promise((resolve) => server.close(resolve))
    await app.shutdown()
    await database.close()
  })

  it('serves an OpenAPI 3.1 document with every route of the manifest but the docs themselves', async () => {
    const response = await fetch(`${base}/openapi.json`)
    assert.equal(response.status, 200)
    const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> }
    assert.equal(document.openapi, '3.1.0')
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    assert.deepEqual(operations.sort(), DOCUMENTED.map((entry) => `${entry.method} ${entry.path}`).sort())
  })

  it('describes parameters by their meaning and the 422 shape', async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters?: unknown[]; responses: Record<string, unknown> }>>
    }
    const getUser = document.paths['/users/{id}']?.get
    assert.deepEqual(getUser?.parameters, [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }])
    assert.ok(getUser?.responses['422'], 'a route with parameters documents its 422')
  })

  it('names the bearer sign-in as FastAPI does (OAuth2 password flow at /auth/token) on every route that reads the token, and on no other', async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown }>>
      components: { securitySchemes?: Record<string, unknown> }
    }
    assert.deepEqual(document.components.securitySchemes, { OAuth2PasswordBearer: { type: 'oauth2', flows: { password: { scopes: {}, tokenUrl: '/auth/token' } } } })
    const secured = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => [`${method.toUpperCase()} ${path}`, operation.security] as const))
    for (const [operation, security] of secured) {
      const open = operation === 'POST /auth/token' || operation === 'GET /health'
      assert.deepEqual(security, open ? undefined : [{ OAuth2PasswordBearer: [] }], operation)
    }
  })

  it('describes optional parameters by what they wrap, with their default as the value it stands for', async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters?: unknown[] }>>
    }
    // What generators (openapi-typescript) read: `page` and `results_per_page` are integers, not strings.
    assert.deepEqual(document.paths['/users']?.get?.parameters, [
      { name: 'page', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 2_147_483_647, default: 1 } },
      { name: 'results_per_page', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 13 } },
      { name: 'search', in: 'query', required: false, schema: { type: 'string', maxLength: 254, default: '' } },
    ])
  })

  it('names the models as FastAPI does, and documents every answer with its body and headers', async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }>; headers?: Record<string, unknown> }> }>>
      components: { schemas: Record<string, unknown> }
    }
    assert.deepEqual(Object.keys(document.components.schemas).sort(), ['HTTPError', 'HTTPValidationError', 'Token', 'User', 'UserCreate', 'UserPage', 'UserUpdate', 'ValidationError'])
    const json = (schema: unknown) => ({ 'application/json': { schema } })
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
    const listing = document.paths['/users']?.get?.responses
    assert.deepEqual(listing?.['200']?.content, json(ref('UserPage')))
    assert.deepEqual(Object.keys(listing?.['200']?.headers ?? {}), ['Age', 'Cache-Status'], 'a read that may be answered stale says how it is marked')
    assert.deepEqual(listing?.['422']?.content, json(ref('HTTPValidationError')))
    assert.deepEqual(listing?.['503'], {
      description: 'The database did not answer, and no earlier answer to this request, for these rights, is held',
      content: json(ref('HTTPError')),
      headers: { 'Retry-After': { description: 'Seconds to wait before trying again', required: true, schema: { type: 'integer', minimum: 0 } } },
    })
    assert.equal(document.paths['/users/{id}']?.patch?.responses['200']?.headers, undefined, 'a write is never answered stale')
    assert.deepEqual(Object.keys(document.paths['/users']?.post?.responses['201']?.headers ?? {}), ['Location'])
    const image = (type: string) => [type, { schema: { type: 'string', format: 'binary', contentMediaType: type } }]
    assert.deepEqual(document.paths['/users/{id}/avatar']?.get?.responses['200']?.content, Object.fromEntries(['image/png', 'image/jpeg', 'image/webp'].map(image)))
  })

  const skipBrowser = !existsSync(CHROMIUM) && !process.env.CI ? `no Chromium at ${CHROMIUM} (apt-get install chromium)` : false

  it('signs in on /docs through Swagger UI\'s Authorize dialog and runs GET /users/me from the page, all from this origin', { skip: skipBrowser }, async () => {
    let browser: Browser | undefined
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      })
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      const requested: string[] = []
      const problems: string[] = []
      page.on('request', (request) => requested.push(request.url()))
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text())
      })
      page.on('pageerror', (error) => problems.push(error.message))

      const response = await page.goto(`${base}/docs`)
      assert.equal(response?.status(), 200)
      assert.equal(await page.title(), 'Users API - Swagger UI')
      await page.locator('.information-container .title').getByText('Users API').waitFor()

      // FastAPI's flow: Authorize, the OAuth2 password form, Authorize, Close.
      await page.locator('.auth-wrapper button.authorize').click()
      const dialog = page.locator('.modal-ux')
      await dialog.locator('#oauth_username').fill(user.username)
      await dialog.locator('#oauth_password').fill(user.password)
      await dialog.getByRole('button', { name: 'Apply given OAuth2 credentials' }).click()
      await dialog.getByRole('button', { name: 'Remove authorization' }).waitFor()
      if (process.env.DOCS_SCREENSHOT) await page.screenshot({ path: process.env.DOCS_SCREENSHOT.replace(/\.png$/, '-authorize.png') })
      await dialog.getByRole('button', { name: 'Close' }).click()

      const operation = page.locator('#operations-users-getUsersMe')
      await operation.locator('.opblock-summary').click()
      await operation.getByRole('button', { name: 'Try it out' }).click()
      await operation.getByRole('button', { name: 'Execute' }).click()
      const live = operation.locator('.live-responses-table .response').first()
      await live.waitFor()
      assert.equal((await live.locator('.response-col_status').innerText()).trim(), '200')
      const shown = JSON.parse(await live.locator('.response-col_description .microlight').first().innerText()) as { id: number; username: string }
      assert.deepEqual([shown.id, shown.username], [user.id, user.username])
      // The request the page sent carried the token the dialog got.
      assert.match(await operation.locator('.curl-command').innerText(), /Authorization: Bearer ey/)
      if (process.env.DOCS_SCREENSHOT) {
        await operation.scrollIntoViewIfNeeded()
        await page.screenshot({ path: process.env.DOCS_SCREENSHOT })
      }

      assert.deepEqual(problems, [], 'no script errors, nothing the page\'s Content-Security-Policy refused')
      const origins = new Set(requested.map((url) => new URL(url).origin))
      assert.deepEqual([...origins], [base], 'everything the page loads comes from the API itself (no CDN)')
      for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css']) assert.ok(requested.some((url) => new URL(url).pathname === `/docs/${file}`), file)
      assert.ok(requested.some((url) => new URL(url).pathname === '/auth/token'), 'signed in at the tokenUrl')
    } finally {
      await browser?.close()
    }
  })
})
