/**
 * Every row of the error table of shared/API.md, through Lambda handlers invoked with
 * API Gateway HTTP API payload-2.0 events.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as v from 'valibot'
import { HttpError } from '../../lib/http/errors.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { intParam } from '../../lib/http/params.ts'
import { Hono } from 'hono'
import type { AppEnv } from '../../lib/http/env.ts'
import { responds, validate } from '../../lib/http/route.ts'
import { invoke, type Invocation } from '../support/invoke.ts'
import { captureLogs } from '../support/logs.ts'

const Item = v.object({
  name: v.pipe(v.string(), v.minLength(3)),
  price: v.pipe(v.number(), v.minValue(0)),
  kind: v.optional(v.picklist(['book', 'pen'])),
})

const itemRoute = new Hono<AppEnv>().post(
  '/items/:id',
  validate({
    param: v.object({ id: intParam() }),
    query: v.object({ page: v.optional(intParam({ min: 1 }), '1') }),
    header: v.object({ 'x-api-version': v.pipe(v.string(), v.regex(/^\d+$/)) }),
    json: Item,
    maxBytes: 256,
  }),
  responds(v.object({ id: v.number(), ...Item.entries }), 201),
  (c) => c.var.respond({ id: c.req.valid('param').id, ...c.req.valid('json') }),
)

const loginRoute = new Hono<AppEnv>().post('/login', validate({ form: v.object({ username: v.string(), password: v.string() }) }), (c) =>
  c.json({ username: c.req.valid('form').username }),
)

const teapot = new Hono<AppEnv>().get('/teapot', () => {
  throw new HttpError(418, "I'm a teapot", { 'x-tea': 'earl grey' })
})

const crash = new Hono<AppEnv>().get('/crash', () => {
  throw new Error('relation "users" does not exist; SELECT * FROM users; postgres://app:hunter2@db.internal/app')
})

const unavailable = new Hono<AppEnv>().get('/unavailable', () => {
  throw new HttpError(503, 'Database unavailable', { 'retry-after': '5' })
})

describe('the error table, through Lambda handlers', () => {
  let fn: LambdaFunction
  let fallback: LambdaFunction

  before(async () => {
    fn = await lambdaFunction([itemRoute, loginRoute, teapot, crash, unavailable], { env: {} })
    fallback = (await import('../../functions/_default.ts')) as unknown as LambdaFunction
  })
  after(async () => {
    await fn.shutdown()
    await fallback.shutdown()
  })

  const postItem = (options: { id?: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean }) =>
    invoke(fn.handler, {
      method: 'POST',
      route: '/items/{id}',
      path: `/items/${options.id ?? '7'}`,
      headers: { 'content-type': 'application/json', 'x-api-version': '2', ...options.headers },
      ...(options.query ? { query: options.query } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
      ...(options.isBase64Encoded ? { isBase64Encoded: true } : {}),
    })

  it('passes a valid request through (the baseline for the rows below)', async () => {
    const response = await postItem({ body: JSON.stringify({ name: 'pencil', price: 2, extra: 'ignored' }) })
    assert.equal(response.status, 201)
    assert.deepEqual(response.json(), { id: 7, name: 'pencil', price: 2 })
  })

  it('HTTPException: its status, {"detail": message} and its headers', async () => {
    const response = await invoke(fn.handler, { method: 'GET', route: '/teapot', path: '/teapot' })
    assert.equal(response.status, 418)
    assert.deepEqual(response.json(), { detail: "I'm a teapot" })
    assert.equal(response.headers['x-tea'], 'earl grey')
  })

  it('validation: 422 listing every problem at once, in path, query, header and body', async () => {
    const response = await postItem({
      id: 'seven',
      query: { page: '0' },
      headers: { 'x-api-version': 'v2' },
      body: JSON.stringify({ name: 'ab', kind: 'car' }),
    })
    assert.equal(response.status, 422)
    const { detail } = response.json() as { detail: { loc: unknown[]; type: string; msg: string }[] }
    assert.deepEqual(
      detail.map(({ loc, type, msg }) => ({ loc, type, msg })),
      [
        { loc: ['path', 'id'], type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer' },
        { loc: ['query', 'page'], type: 'greater_than_equal', msg: 'Input should be greater than or equal to 1' },
        { loc: ['header', 'x-api-version'], type: 'string_pattern_mismatch', msg: "String should match pattern '^\\d+$'" },
        { loc: ['body', 'name'], type: 'string_too_short', msg: 'String should have at least 3 characters' },
        { loc: ['body', 'price'], type: 'missing', msg: 'Field required' },
        { loc: ['body', 'kind'], type: 'literal_error', msg: "Input should be 'book' or 'pen'" },
      ],
    )
  })

  it('validation: a missing header and a missing JSON body', async () => {
    const response = await invoke(fn.handler, {
      method: 'POST',
      route: '/items/{id}',
      path: '/items/1',
      headers: { 'content-type': 'application/json' },
    })
    assert.equal(response.status, 422)
    assert.deepEqual(response.json(), {
      detail: [
        { loc: ['header', 'x-api-version'], msg: 'Field required', type: 'missing' },
        { loc: ['body'], msg: 'Field required', type: 'missing' },
      ],
    })
  })

  it('validation: form fields are in body too', async () => {
    const response = await invoke(fn.handler, {
      method: 'POST',
      route: '/login',
      path: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice',
    })
    assert.equal(response.status, 422)
    assert.deepEqual(response.json(), { detail: [{ loc: ['body', 'password'], msg: 'Field required', type: 'missing' }] })
  })

  it('JSON that does not parse: 422 json_invalid at ["body", offset], as Python counts it', async () => {
    const response = await postItem({ body: '{"name": "abc", }' })
    assert.equal(response.status, 422)
    assert.deepEqual(response.json(), {
      detail: [
        {
          loc: ['body', 16],
          msg: 'JSON decode error',
          type: 'json_invalid',
          ctx: { error: 'Expecting property name enclosed in double quotes' },
        },
      ],
    })
  })

  it('a body that cannot be read (bytes that are not UTF-8): 400', async () => {
    const response = await postItem({ body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64'), isBase64Encoded: true })
    assert.equal(response.status, 400)
    assert.deepEqual(response.json(), { detail: 'There was an error parsing the body' })
  })

  it('a body that cannot be read (broken multipart): 400', async () => {
    const response = await invoke(fn.handler, {
      method: 'POST',
      route: '/login',
      path: '/login',
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      body: '--XyZ\r\nContent-Disposition: form-data; name="username"\r\n\r\nalice',
    })
    assert.equal(response.status, 400)
    assert.deepEqual(response.json(), { detail: 'There was an error parsing the body' })
  })

  it('a JSON route called with another content type: 415', async () => {
    const response = await postItem({ headers: { 'content-type': 'text/plain' }, body: 'name=pen' })
    assert.equal(response.status, 415)
    assert.deepEqual(response.json(), { detail: 'Unsupported Media Type: expected application/json' })
  })

  it('a body over the route’s limit: 413', async () => {
    const response = await postItem({ body: JSON.stringify({ name: 'x'.repeat(300), price: 1 }) })
    assert.equal(response.status, 413)
    assert.deepEqual(response.json(), { detail: 'Request body too large: at most 256 bytes' })
  })

  it('an unknown route: 404 {"detail": "Not Found"} (the $default function)', async () => {
    const response = await invoke(fallback.handler, { method: 'GET', route: '$default', path: '/no/such/thing' })
    assert.equal(response.status, 404)
    assert.deepEqual(response.json(), { detail: 'Not Found' })
  })

  it('a known path with the wrong method: 405 with Allow (the $default function)', async () => {
    const response = await invoke(fallback.handler, { method: 'PUT', route: '$default', path: '/users/12' })
    assert.equal(response.status, 405)
    assert.deepEqual(response.json(), { detail: 'Method Not Allowed' })
    assert.equal(response.headers.allow, 'DELETE, GET, PATCH')
  })

  it('a known path with the wrong method inside a route’s own function: 405 with Allow', async () => {
    const response = await invoke(fn.handler, { method: 'GET', route: '$default', path: '/login' })
    assert.equal(response.status, 405)
    assert.equal(response.headers.allow, 'POST')
  })

  it('an unexpected failure: 500 with nothing of the error, which is logged with the request id', async () => {
    const logs = captureLogs()
    let response: Invocation
    try {
      response = await invoke(fn.handler, { method: 'GET', route: '/crash', path: '/crash', headers: { 'x-request-id': 'crash-1' } })
    } finally {
      logs.restore()
    }
    assert.equal(response.status, 500)
    assert.equal(response.body, '{"detail":"Internal Server Error"}')
    assert.doesNotMatch(response.body, /relation|SELECT|hunter2|postgres:|at /)
    const logged = logs.entries.find((entry) => entry.message === 'unhandled error')
    assert.ok(logged)
    assert.equal(logged.request_id, 'crash-1')
    assert.match((logged.error as { message: string }).message, /relation "users" does not exist/)
  })

  it('unavailable: 503 with Retry-After', async () => {
    const response = await invoke(fn.handler, { method: 'GET', route: '/unavailable', path: '/unavailable' })
    assert.equal(response.status, 503)
    assert.deepEqual(response.json(), { detail: 'Database unavailable' })
    assert.equal(response.headers['retry-after'], '5')
  })

  it('every JSON answer is application/json; charset=utf-8', async () => {
    const response = await invoke(fn.handler, { method: 'GET', route: '/teapot', path: '/teapot' })
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8')
  })
})
