/**
 * GET /openapi.json and GET /docs: the document covers every route of the manifest, and the
 * page, opened in a real headless Chromium (Debian's package), lists them.
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
import { route as openapi } from '../../functions/openapi.json/get.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const DOCUMENTED = MANIFEST.filter((entry) => entry.path !== '/docs' && entry.path !== '/openapi.json')

describe('API documentation', () => {
  let app: App
  let server: ServerType
  let base: string

  before(async () => {
    app = createApp({ routes: [openapi, docsPage], env: {} })
    await app.startup()
    server = serve({ fetch: app.hono.fetch, hostname: '127.0.0.1', port: 0 })
    await new Promise((resolve) => server.once('listening', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    await new Promise((resolve) => server.close(resolve))
    await app.shutdown()
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

  const skipBrowser = !existsSync(CHROMIUM) && !process.env.CI ? `no Chromium at ${CHROMIUM} (apt-get install chromium)` : false

  it('lists every route on /docs in headless Chromium', { skip: skipBrowser }, async () => {
    let browser: Browser | undefined
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      })
      const page = await browser.newPage()
      const response = await page.goto(`${base}/docs`)
      assert.equal(response?.status(), 200)
      assert.equal(await page.title(), 'Users API - docs')
      const listed = await page.$$eval('section.operation', (sections) =>
        sections.map((section) => `${section.getAttribute('data-method')} ${section.getAttribute('data-path')}`),
      )
      assert.deepEqual(listed.sort(), DOCUMENTED.map((entry) => `${entry.method} ${entry.path}`).sort())
      const visible = await page.locator('main').innerText()
      assert.match(visible, /GET\s+\/users\/\{id\}/)
      assert.match(visible, /Read a user/)
      if (process.env.DOCS_SCREENSHOT) await page.screenshot({ path: process.env.DOCS_SCREENSHOT, fullPage: true })
      await page.getByRole('link', { name: '/openapi.json' }).click()
      assert.match(await page.locator('body').innerText(), /"openapi":"3\.1\.0"/)
    } finally {
      await browser?.close()
    }
  })
})
