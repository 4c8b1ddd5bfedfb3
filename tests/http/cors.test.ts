/**
 * The one CORS policy (CORS_ORIGINS, lib/http/cors-policy.ts), the same wherever the service
 * runs: through the Lambda handlers (payload-2.0 events; a preflight goes to the `$default`
 * function, as no route takes OPTIONS), over HTTP against the dev server, against built
 * functions in the Lambda emulator, and in workerd against the edge bundle; each unset (the
 * default: no cross-origin access) and set. The routes asked answer from the test database,
 * PGlite or DATABASE_URL's server.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Hono } from 'hono/tiny'
import { Miniflare } from 'miniflare'
import { buildFunction, buildWorker } from '../../lib/dev/build.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { startEmulator, type FunctionSpec } from '../../lib/dev/emulator/emulator.ts'
import { createApp, type AppEnv } from '../../lib/http/app.ts'
import { readCorsPolicy } from '../../lib/http/cors-policy.ts'
import { DEFAULT_ENTRY, MANIFEST } from '../../lib/manifest.ts'
import { externalUrl, functionEnv, startTestDatabase } from '../support/database.ts'
import { startDev, stopDev } from '../support/dev-server.ts'
import { httpCaller, startGateway, type Answer, type Call } from '../support/gateway.ts'

const APP = 'https://app.example.com'
const LOCAL = 'http://localhost:5173'
const FOREIGN = 'https://evil.example'
/** As an operator might write it: spaces, a default port, a trailing slash, upper case. */
const CORS_ORIGINS = `https://App.example.com:443/ , ${LOCAL}`

interface Target {
  readonly call: Call
  close(): Promise<void>
}

/** Starts the service with this CORS_ORIGINS ('' for none). */
type Start = (corsOrigins: string) => Promise<Target>

/** The database of the Lambda handlers and the Worker, opened once for the file. */
let database: Promise<DevDatabase> | undefined
const testDatabase = () => (database ??= startTestDatabase())
after(async () => (await database)?.close())

const corsHeaders = (answer: Answer) => Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))
const listed = (value: string | undefined) => (value ?? '').split(',').map((item) => item.trim().toLowerCase())

function preflight(origin: string, method = 'PATCH') {
  return { headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' } }
}

function corsSuite(name: string, start: Start): void {
  describe(`CORS ${name}`, () => {
    let closed: Target
    let open: Target
    // One after the other, so that after() stops the first when the second cannot start.
    before(async () => {
      closed = await start('')
      open = await start(CORS_ORIGINS)
    })
    after(async () => {
      await closed?.close()
      await open?.close()
    })

    describe('with no CORS_ORIGINS (the default)', () => {
      it('sends no CORS header, whatever the Origin', async () => {
        const answer = await closed.call('GET', '/health', { headers: { origin: APP } })
        assert.equal(answer.status, 200)
        assert.deepEqual(answer.json(), { status: 'ok' })
        assert.deepEqual(corsHeaders(answer), [])
      })

      it('does not answer a preflight: 405 with Allow, as for any method the path lacks', async () => {
        const answer = await closed.call('OPTIONS', '/users/42', preflight(APP))
        assert.equal(answer.status, 405)
        assert.equal(answer.headers.allow, 'DELETE, GET, PATCH')
        assert.deepEqual(corsHeaders(answer), [])
      })
    })

    describe('with CORS_ORIGINS set', () => {
      it('lets a listed origin read an answer: its Origin echoed, Vary: Origin, the headers it may read', async () => {
        for (const origin of [APP, LOCAL]) {
          const answer = await open.call('GET', '/health', { headers: { origin } })
          assert.equal(answer.status, 200)
          assert.deepEqual(answer.json(), { status: 'ok' })
          assert.equal(answer.headers['access-control-allow-origin'], origin)
          assert.ok(listed(answer.headers.vary).includes('origin'), `vary: ${answer.headers.vary}`)
          assert.ok(listed(answer.headers['access-control-expose-headers']).includes('x-request-id'))
          assert.equal(answer.headers['access-control-allow-credentials'], undefined, 'never credentials')
        }
      })

      it('lets it read an error answer too, with its challenge', async () => {
        const answer = await open.call('GET', '/users/me', { headers: { origin: APP } })
        assert.equal(answer.status, 401)
        assert.equal(answer.headers['access-control-allow-origin'], APP)
        assert.ok(listed(answer.headers['access-control-expose-headers']).includes('www-authenticate'))
      })

      it('gives any other origin nothing to read', async () => {
        const answer = await open.call('GET', '/health', { headers: { origin: FOREIGN } })
        assert.equal(answer.status, 200)
        assert.equal(answer.headers['access-control-allow-origin'], undefined)
      })

      it('answers a preflight by the policy: 204, the methods, the request headers, the max-age', async () => {
        const answer = await open.call('OPTIONS', '/users/42', preflight(APP))
        assert.equal(answer.status, 204)
        assert.equal(answer.headers['access-control-allow-origin'], APP)
        assert.deepEqual(listed(answer.headers['access-control-allow-methods']), ['get', 'post', 'put', 'patch', 'delete'])
        assert.deepEqual(listed(answer.headers['access-control-allow-headers']), ['authorization', 'content-type', 'x-request-id'])
        assert.equal(answer.headers['access-control-max-age'], '600')
        assert.equal(answer.headers['access-control-allow-credentials'], undefined)
        assert.ok(answer.headers['x-request-id'], 'a request id, as every answer has')
      })

      it('gives a preflight from any other origin no Access-Control-Allow-Origin, so the browser sends nothing', async () => {
        const answer = await open.call('OPTIONS', '/users', preflight(FOREIGN, 'POST'))
        assert.equal(answer.headers['access-control-allow-origin'], undefined)
      })
    })
  })
}

corsSuite('through the Lambda handlers', async (corsOrigins) => startGateway({ ...functionEnv(await testDatabase()), CORS_ORIGINS: corsOrigins }))

corsSuite('over HTTP against the dev server', async (corsOrigins) => {
  // A database of its own: PGlite in a folder, or DATABASE_URL's server.
  const dataRoot = mkdtempSync(join(tmpdir(), 'cors-http-'))
  const running = await startDev({ DATABASE_URL: externalUrl, PGLITE_DATA_DIR: join(dataRoot, 'pglite'), CORS_ORIGINS: corsOrigins })
  if (corsOrigins !== '') assert.match(running.output(), new RegExp(`^cors +${APP} ${LOCAL} \\(CORS_ORIGINS\\)$`, 'm'))
  return {
    call: httpCaller(running.api),
    async close() {
      await stopDev(running)
      rmSync(dataRoot, { recursive: true, force: true })
    },
  }
})

describe('CORS in the Lambda emulator (npm run dev:lambda: built bundles, hono/cors a chunk of its own)', () => {
  let functions: FunctionSpec[]
  const out = mkdtempSync(join(process.cwd(), '.data', 'cors-emulated-'))
  before(async () => {
    const entries = [['GET /health', 'functions/health/get.ts'], ['GET /users/me', 'functions/users/me/get.ts'], ['$default', DEFAULT_ENTRY]]
    functions = []
    for (const [routeKey, entry] of entries) functions.push({ routeKey: routeKey as string, bundle: (await buildFunction(entry as string, out)).file })
  })
  after(() => rmSync(out, { recursive: true, force: true }))

  corsSuite('with CORS_ORIGINS in the functions\' environment', async (corsOrigins) => {
    const env = { ...functionEnv(await testDatabase()), PATH: process.env.PATH ?? '', CORS_ORIGINS: corsOrigins }
    const emulator = await startEmulator({ functions, env, concurrency: 1, log: () => undefined })
    return { call: httpCaller(emulator.url), close: () => emulator.close() }
  })
})

describe('CORS in workerd (the edge bundle)', () => {
  let file: string
  const out = mkdtempSync(join(process.cwd(), '.data', 'cors-worker-'))
  before(async () => {
    ;({ file } = await buildWorker(out))
  })
  after(() => rmSync(out, { recursive: true, force: true }))

  // The policy comes from the Worker's bindings, as SST's `environment` sets them (infra/api.ts).
  corsSuite('with CORS_ORIGINS as a binding', async (corsOrigins) => {
    const mf = new Miniflare({
      modules: true,
      scriptPath: file,
      compatibilityDate: '2025-09-01',
      compatibilityFlags: ['nodejs_compat'],
      bindings: { ...functionEnv(await testDatabase()), CORS_ORIGINS: corsOrigins },
    })
    const dispatch = (url: URL, init: RequestInit) => mf.dispatchFetch(url, init as Parameters<typeof mf.dispatchFetch>[1]) as unknown as Promise<Response>
    return { call: httpCaller('http://worker.local', dispatch), close: () => mf.dispose() }
  })
})

describe('the CORS policy', () => {
  it('allows every method the API serves, and the request headers its routes read', () => {
    const policy = readCorsPolicy({ CORS_ORIGINS: APP })
    for (const route of MANIFEST) assert.ok(policy?.methods.includes(route.method as never), `${route.method} ${route.path}`)
    for (const header of ['authorization', 'content-type', 'x-request-id']) assert.ok(policy?.allowHeaders.includes(header), header)
  })

  it('with CORS_ORIGINS=*, lets every origin read, without Vary and without credentials', async () => {
    const routes = new Hono<AppEnv>().get('/open', (c) => c.json({ open: true }))
    const app = createApp({ routes, env: { CORS_ORIGINS: '*' } })
    const answer = await app.hono.request('/open', { headers: { origin: FOREIGN } })
    assert.equal(answer.headers.get('access-control-allow-origin'), '*')
    assert.equal(answer.headers.get('vary'), null)
    assert.equal(answer.headers.get('access-control-allow-credentials'), null)
    const preflighted = await app.hono.request('/open', { method: 'OPTIONS', ...preflight(FOREIGN, 'DELETE') })
    assert.equal(preflighted.status, 204)
    assert.equal(preflighted.headers.get('access-control-allow-origin'), '*')
  })
})
