/**
 * Any Hono middleware runs the same wherever the app runs, before and around its routes, on
 * success and on every error answer: hono/cors, secureHeaders() and a custom middleware,
 * through the Lambda adapter (payload-2.0 events), over HTTP as the dev server serves an app
 * (createApp on @hono/node-server), and in workerd (the app bundled as a Workers module).
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { serve, type ServerType } from '@hono/node-server'
import { Miniflare } from 'miniflare'
import { buildWorker } from '../../lib/dev/build.ts'
import { Hono } from 'hono'
import { createApp, type AppEnv } from '../../lib/http/app.ts'
import { depends } from '../../lib/http/depends.ts'
import { lifespan } from '../../lib/http/lifespan.ts'
import { needs } from '../../lib/http/route.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { app } from '../fixtures/middleware-app.ts'
import { httpCaller, type Call } from '../support/gateway.ts'
import { invoke } from '../support/invoke.ts'
import { captureLogs } from '../support/logs.ts'

const ORIGIN = { origin: 'https://app.example' }

/** What every answer must show of the middleware, whatever its status. */
function assertMiddlewareRan(headers: Record<string, string>, status: number, where: string): void {
  assert.equal(headers['access-control-allow-origin'], 'https://app.example', `${where}: cors`)
  assert.equal(headers['x-content-type-options'], 'nosniff', `${where}: secureHeaders`)
  assert.equal(headers['x-frame-options'], 'SAMEORIGIN', `${where}: secureHeaders`)
  assert.equal(headers['x-custom-before'], 'yes', `${where}: custom, before the route`)
  assert.equal(headers['x-custom-after'], String(status), `${where}: custom, after the route`)
  assert.ok(headers['x-request-id'], `${where}: the toolkit's request id`)
}

const CASES: { method: string; path: string; headers?: Record<string, string>; status: number; detail?: unknown }[] = [
  { method: 'GET', path: '/ok', status: 200 },
  { method: 'GET', path: '/private', status: 401, detail: 'Not authenticated' },
  { method: 'GET', path: '/private', headers: { authorization: 'Bearer letmein' }, status: 200 },
  { method: 'GET', path: '/nowhere', status: 404, detail: 'Not Found' },
  { method: 'POST', path: '/ok', status: 405, detail: 'Method Not Allowed' },
  { method: 'GET', path: '/items/abc', status: 422 },
  { method: 'GET', path: '/down', status: 503, detail: 'Database unavailable' },
]

function middlewareSuite(name: string, start: () => Promise<{ call: Call; close(): Promise<void> }>): void {
  describe(`Hono middleware ${name}`, () => {
    let target: { call: Call; close(): Promise<void> }
    before(async () => {
      target = await start()
    })
    after(async () => {
      await target?.close()
    })

    for (const item of CASES) {
      it(`runs around ${item.method} ${item.path}${item.headers ? ' (signed in)' : ''}: ${item.status}`, async () => {
        const answer = await target.call(item.method, item.path, { headers: { ...ORIGIN, ...item.headers } })
        assert.equal(answer.status, item.status, answer.text)
        if (item.detail !== undefined) assert.deepEqual((answer.json() as { detail: unknown }).detail, item.detail)
        if (item.status === 401) assert.equal(answer.headers['www-authenticate'], 'Bearer')
        if (item.status === 503) assert.equal(answer.headers['retry-after'], '5')
        if (item.status === 405) assert.equal(answer.headers.allow, 'GET')
        assertMiddlewareRan(answer.headers, item.status, `${item.method} ${item.path}`)
      })
    }

    it('answers a CORS preflight from the cors middleware', async () => {
      const answer = await target.call('OPTIONS', '/ok', { headers: { ...ORIGIN, 'access-control-request-method': 'GET' } })
      assert.equal(answer.status, 204)
      assert.equal(answer.headers['access-control-allow-origin'], 'https://app.example')
      assert.match(answer.headers['access-control-allow-methods'] ?? '', /GET/)
    })
  })
}

middlewareSuite('through the Lambda adapter', async () => {
  const fn: LambdaFunction = await lambdaFunction(app, { env: {}, startup: 'init' })
  const call: Call = async (method, path, options = {}) => {
    const result = await invoke(fn.handler, { method, route: '$default', path, ...(options.headers ? { headers: options.headers } : {}) })
    return { status: result.status, headers: result.headers, bytes: result.bytes, text: result.body, json: () => result.json() }
  }
  return { call, close: () => fn.shutdown() }
})

middlewareSuite('on the dev server (createApp on @hono/node-server)', async () => {
  const served = createApp({ routes: app, env: {} })
  await served.startup()
  const server: ServerType = serve({ fetch: served.hono.fetch, hostname: '127.0.0.1', port: 0 })
  await new Promise((resolve) => server.once('listening', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    call: httpCaller(base),
    async close() {
      await new Promise((resolve) => server.close(resolve))
      await served.shutdown()
    },
  }
})

middlewareSuite('in workerd (the app as a Workers module)', async () => {
  mkdirSync(join(process.cwd(), '.data'), { recursive: true })
  const out = mkdtempSync(join(process.cwd(), '.data', 'middleware-'))
  const { file } = await buildWorker(out, 'tests/fixtures/middleware-worker.ts')
  const mf = new Miniflare({ modules: true, scriptPath: file, compatibilityDate: '2025-09-01', compatibilityFlags: ['nodejs_compat'] })
  const dispatch = (url: URL, init: RequestInit) => mf.dispatchFetch(url, init as Parameters<typeof mf.dispatchFetch>[1]) as unknown as Promise<Response>
  return {
    call: httpCaller('http://worker.local', dispatch),
    async close() {
      await mf.dispose()
      rmSync(out, { recursive: true, force: true })
    },
  }
})

describe('a lifespan that cannot start for a request (a Worker without its binding)', () => {
  it('answers the contract’s 500 with a request id, and logs the error and the request', async () => {
    const bound = lifespan('bound', async function* ({ env }) {
      if (env.SECRET === undefined) throw new Error('SECRET is not bound')
      yield env.SECRET
    })
    const secret = depends({ name: 'secret', lifespans: [bound] }, (_, scope) => scope.state(bound))
    const perRequest = createApp({ routes: new Hono<AppEnv>().get('/secret', needs({ secret }), (c) => c.json({ ok: true })), lifespansPerRequest: true })
    const logs = captureLogs()
    let response: Response
    try {
      response = await perRequest.hono.request('/secret', { headers: { 'x-request-id': 'no-binding-1' } }, {})
    } finally {
      logs.restore()
    }
    assert.equal(response.status, 500)
    assert.deepEqual(await response.json(), { detail: 'Internal Server Error' })
    assert.equal(response.headers.get('x-request-id'), 'no-binding-1')
    assert.ok(logs.entries.some((entry) => entry.message === 'unhandled error' && entry.request_id === 'no-binding-1'))
    // It never reached its route, so the line names none (and declares no metric).
    assert.ok(logs.entries.some((entry) => entry.message === 'request' && entry.status === 500 && entry.path === '/secret' && entry.request_id === 'no-binding-1'))
    await perRequest.shutdown()
  })
})
