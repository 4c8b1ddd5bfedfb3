/**
 * Bodies, the response model, background tasks, lifespans and request observability,
 * through Lambda handlers invoked with payload-2.0 events.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import * as v from 'valibot'
import { depends } from '../../lib/http/depends.ts'
import { Timestamp } from '../../lib/http/json-fields.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { lifespan, LifespanError } from '../../lib/http/lifespan.ts'
import { Hono } from 'hono'
import type { AppEnv } from '../../lib/http/env.ts'
import { needs, responds, validate } from '../../lib/http/route.ts'
import { httpApiEvent, lambdaContext } from '../fixtures/lambda.ts'
import { invoke } from '../support/invoke.ts'
import { captureLogs } from '../support/logs.ts'

const functions: LambdaFunction[] = []
after(async () => {
  for (const fn of functions) await fn.shutdown()
})
async function serve(routes: Hono<AppEnv> | Hono<AppEnv>[]): Promise<LambdaFunction> {
  const fn = await lambdaFunction(routes, { env: {} })
  functions.push(fn)
  return fn
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0x10, 0x80])

describe('bodies', () => {
  const echoBytes = new Hono<AppEnv>().put('/blob', validate({ bytes: { types: ['image/png', 'image/webp'], maxBytes: 16 } }), (c) =>
    c.body(c.var.rawBody.bytes, 200, { 'content-type': c.var.rawBody.contentType }),
  )
  const form = new Hono<AppEnv>().post('/form', validate({ form: v.object({ username: v.string(), note: v.optional(v.string()) }) }), (c) =>
    c.json(c.req.valid('form')),
  )
  const put = (fn: LambdaFunction, type: string, bytes: Buffer) =>
    invoke(fn.handler, {
      method: 'PUT',
      route: '/blob',
      path: '/blob',
      headers: { 'content-type': type },
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    })

  it('decodes a base64 request body and sends binary back base64-encoded, byte for byte', async () => {
    const fn = await serve(echoBytes)
    const response = await put(fn, 'image/png', PNG)
    assert.equal(response.status, 200)
    assert.equal(response.isBase64Encoded, true)
    assert.equal(response.headers['content-type'], 'image/png')
    assert.deepEqual(response.bytes, PNG)
  })

  it('answers 415 for a media type the route does not take', async () => {
    const fn = await serve(echoBytes)
    const response = await put(fn, 'image/gif', PNG)
    assert.equal(response.status, 415)
    assert.deepEqual(response.json(), { detail: 'Unsupported Media Type: expected image/png or image/webp' })
  })

  it('answers 413 for bytes over the route’s limit', async () => {
    const fn = await serve(echoBytes)
    const response = await put(fn, 'image/png', Buffer.alloc(17, 1))
    assert.equal(response.status, 413)
  })

  it('reads urlencoded and multipart forms alike', async () => {
    const fn = await serve(form)
    const urlencoded = await invoke(fn.handler, {
      method: 'POST',
      route: '/form',
      path: '/form',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=al%20ice&note=hi',
    })
    assert.deepEqual(urlencoded.json(), { username: 'al ice', note: 'hi' })
    const boundary = 'b0undary'
    const multipart = await invoke(fn.handler, {
      method: 'POST',
      route: '/form',
      path: '/form',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: `--${boundary}\r\nContent-Disposition: form-data; name="username"\r\n\r\nbob\r\n--${boundary}--\r\n`,
    })
    assert.deepEqual(multipart.json(), { username: 'bob' })
  })
})

describe('the response model', () => {
  const record = new Hono<AppEnv>().get('/record', responds(v.object({ id: v.number(), name: v.string(), created_at: Timestamp })), (c) =>
    c.var.respond({
      id: 9007199254740991,
      name: 'alice',
      created_at: new Date('2026-01-01T10:00:00.250Z'),
      // @ts-expect-error a field the model does not declare: it must not leave
      password_hash: '$scrypt$secret',
    }),
  )

  it('sends only the fields it declares, dates as ISO 8601 with an offset', async () => {
    const fn = await serve(record)
    const response = await invoke(fn.handler, { method: 'GET', route: '/record', path: '/record' })
    assert.deepEqual(response.json(), { id: 9007199254740991, name: 'alice', created_at: '2026-01-01T10:00:00.250000+00:00' })
    assert.doesNotMatch(response.body, /password_hash|secret/)
  })

  it('answers 500 and logs when the handler’s result does not fit it', async () => {
    const wrong = new Hono<AppEnv>().get('/wrong', responds(v.object({ id: v.number() })), (c) => c.var.respond({ id: 'x' as unknown as number }))
    const fn = await serve(wrong)
    const logs = captureLogs()
    let status: number
    try {
      status = (await invoke(fn.handler, { method: 'GET', route: '/wrong', path: '/wrong' })).status
    } finally {
      logs.restore()
    }
    assert.equal(status, 500)
    assert.ok(logs.entries.some((entry) => entry.message === 'unhandled error' && JSON.stringify(entry.error).includes('does not match its schema')))
  })
})

describe('background tasks', () => {
  it('run after the response exists and finish before the invocation returns', async () => {
    const events: string[] = []
    const audit = depends({ name: 'audit' }, (_, scope) => {
      scope.background.add('audit from dependency', async () => {
        await new Promise((resolve) => setTimeout(resolve, 20))
        events.push('dependency task')
      })
      return true
    })
    const fn = await serve(
      new Hono<AppEnv>().post('/jobs', needs({ audit }), (c) => {
        c.var.scope.background.add('email', () => {
          events.push('handler task')
        })
        events.push('handler')
        return c.json({ queued: true }, 202)
      }),
    )
    const response = await invoke(fn.handler, { method: 'POST', route: '/jobs', path: '/jobs' })
    assert.equal(response.status, 202)
    assert.deepEqual(events, ['handler', 'dependency task', 'handler task'])
  })

  it('log a failing task and keep the response', async () => {
    const fn = await serve(
      new Hono<AppEnv>().post('/flaky', (c) => {
        c.var.scope.background.add('flaky', () => {
          throw new Error('smtp down')
        })
        return c.json({ ok: true })
      }),
    )
    const logs = captureLogs()
    let response
    try {
      response = await invoke(fn.handler, { method: 'POST', route: '/flaky', path: '/flaky' })
    } finally {
      logs.restore()
    }
    assert.equal(response.status, 200)
    assert.deepEqual(response.json(), { ok: true })
    const failure = logs.entries.find((entry) => entry.message === 'background task failed')
    assert.equal(failure?.task, 'flaky')
  })
})

describe('lifespan', () => {
  it('starts once when the function is created, reaches dependencies, and stops on shutdown', async () => {
    const events: string[] = []
    const counter = lifespan('counter', async function* () {
      events.push('startup')
      yield { hits: 0 }
      events.push('shutdown')
    })
    const hits = depends({ name: 'hits', lifespans: [counter] }, (_, scope) => ++scope.state(counter).hits)
    const fn = await lambdaFunction(
      new Hono<AppEnv>().get('/hits', needs({ hits }), (c) => c.json({ hits: c.var.hits })),
      { env: {}, startup: 'init' },
    )
    assert.deepEqual(events, ['startup'], 'started during init, before any request')
    const call = () => invoke(fn.handler, { method: 'GET', route: '/hits', path: '/hits' })
    assert.deepEqual((await call()).json(), { hits: 1 })
    assert.deepEqual((await call()).json(), { hits: 2 })
    assert.deepEqual(events, ['startup'])
    await fn.shutdown()
    assert.deepEqual(events, ['startup', 'shutdown'])
  })

  it('fails the function once, loudly, when startup fails', async () => {
    const broken = lifespan('broken', async function* () {
      throw new Error('cannot reach the secrets store')
      yield {}
    })
    const uses = depends({ name: 'uses', lifespans: [broken] }, () => 1)
    const logs = captureLogs()
    try {
      await assert.rejects(
        lambdaFunction(
          new Hono<AppEnv>().get('/x', needs({ uses }), (c) => c.body(null)),
          { env: {}, startup: 'init' },
        ),
        (error: unknown) => error instanceof LifespanError && /lifespan "broken" failed to start: cannot reach the secrets store/.test(error.message),
      )
    } finally {
      logs.restore()
    }
    const failures = logs.entries.filter((entry) => entry.message === 'function failed to start')
    assert.equal(failures.length, 1)
    assert.deepEqual(failures[0]?.routes, ['GET /x'])
  })
})

describe('observability', () => {
  const ping = new Hono<AppEnv>().get('/ping/:n', validate({ param: v.object({ n: v.string() }) }), (c) => c.json({ pong: true }))

  it('logs one JSON line per request with route, status, duration and whether it was the cold start', async () => {
    const fn = await serve(ping)
    const logs = captureLogs()
    try {
      await invoke(fn.handler, { method: 'GET', route: '/ping/{n}', path: '/ping/1' })
      await invoke(fn.handler, { method: 'GET', route: '/ping/{n}', path: '/ping/2' })
    } finally {
      logs.restore()
    }
    const lines = logs.entries.filter((entry) => entry.message === 'request')
    assert.equal(lines.length, 2)
    assert.deepEqual(
      lines.map(({ route: name, status, cold_start: cold, method, path }) => ({ name, status, cold, method, path })),
      [
        { name: 'GET /ping/{n}', status: 200, cold: true, method: 'GET', path: '/ping/1' },
        { name: 'GET /ping/{n}', status: 200, cold: false, method: 'GET', path: '/ping/2' },
      ],
    )
    for (const line of lines) {
      assert.equal(typeof line.duration_ms, 'number')
      assert.equal(line.level, 'INFO')
      assert.match(String(line.function_request_id), /^aws-req-/)
      // CloudWatch Embedded Metric Format: the line declares its own metrics, per service, stage and route.
      const emf = line._aws as { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] }
      assert.ok(Math.abs(emf.Timestamp - Date.now()) < 60_000)
      assert.deepEqual(emf.CloudWatchMetrics, [{ Namespace: 'users-api', Dimensions: [['service', 'stage', 'route']], Metrics: [{ Name: 'duration_ms', Unit: 'Milliseconds' }] }])
      assert.deepEqual([line.service, line.stage], ['users-api', 'local'])
      assert.equal(line.db_wait_ms, undefined, 'no database figures for a route that used none')
    }
  })

  it('names the route that served the request, where several paths match it', async () => {
    const me = new Hono<AppEnv>().get('/things/me', (c) => c.json({ me: true }))
    const byId = new Hono<AppEnv>().get('/things/:id', validate({ param: v.object({ id: v.string() }) }), (c) => c.json({ id: c.req.valid('param').id }))
    const fn = await serve([me, byId])
    const logs = captureLogs()
    try {
      assert.deepEqual((await invoke(fn.handler, { method: 'GET', route: '$default', path: '/things/me' })).json(), { me: true })
      assert.deepEqual((await invoke(fn.handler, { method: 'GET', route: '$default', path: '/things/7' })).json(), { id: '7' })
      assert.equal((await invoke(fn.handler, { method: 'HEAD', route: '$default', path: '/things/me' })).status, 200)
    } finally {
      logs.restore()
    }
    assert.deepEqual(
      logs.entries.filter((entry) => entry.message === 'request').map((entry) => entry.route),
      ['GET /things/me', 'GET /things/{id}', 'GET /things/me'],
    )
  })

  it('declares no metric for a request that matched no route (a dimension must be a string)', async () => {
    const fn = await serve(ping)
    const logs = captureLogs()
    try {
      const missing = await invoke(fn.handler, { method: 'GET', route: '$default', path: '/nowhere' })
      assert.equal(missing.status, 404)
    } finally {
      logs.restore()
    }
    const [line] = logs.entries.filter((entry) => entry.message === 'request')
    assert.equal(line?.route, null)
    assert.equal(line?._aws, undefined)
  })

  it('puts a request id on every response: the caller’s, else API Gateway’s', async () => {
    const fn = await serve(ping)
    const event = httpApiEvent({ method: 'GET', route: '/ping/{n}', path: '/ping/1' })
    const own = await fn.handler(event, lambdaContext())
    assert.equal(own.headers?.['x-request-id'], event.requestContext.requestId)
    const honoured = await invoke(fn.handler, { method: 'GET', route: '/ping/{n}', path: '/ping/1', headers: { 'x-request-id': 'trace-abc.123' } })
    assert.equal(honoured.headers['x-request-id'], 'trace-abc.123')
    const refused = await invoke(fn.handler, { method: 'GET', route: '/ping/{n}', path: '/ping/1', headers: { 'x-request-id': 'bad id <script>' } })
    assert.notEqual(refused.headers['x-request-id'], 'bad id <script>')
    const missing = await invoke(fn.handler, { method: 'GET', route: '$default', path: '/nowhere' })
    assert.equal(missing.status, 404)
    assert.ok(missing.headers['x-request-id'])
  })
})
