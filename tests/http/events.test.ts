/**
 * Lambda events as AWS sends them, through built bundles (what Lambda runs): API Gateway
 * HTTP API payload 2.0 with header names in any case, base64 bodies, a null body, cookies
 * and a named stage's prefix; REST API payload 1.0; a Function URL's event; a GET with a
 * body; and an event that names no method. Each is read as Hono reads it, and anything the
 * contract does not cover is still answered in its shape, with a request id and a log line.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, before, describe, it } from 'node:test'
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda'
import { Hono } from 'hono'
import { defaultIsContentTypeBinary, handle } from 'hono/aws-lambda'
import { setCookie } from 'hono/cookie'
import * as v from 'valibot'
import { buildFunction } from '../../lib/dev/build.ts'
import { isBinaryContentType, requestOfEvent, resultOfResponse } from '../../lib/http/lambda-event.ts'
import type { HttpApiHandler, LambdaFunction } from '../../lib/http/lambda.ts'
import { responds } from '../../lib/http/route.ts'
import { httpApiEvent, lambdaContext } from '../fixtures/lambda.ts'

type Result = Awaited<ReturnType<HttpApiHandler>> & { multiValueHeaders?: Record<string, string[]> }

const v2 = (overrides: Partial<APIGatewayProxyEventV2> & { headers?: Record<string, string> }): APIGatewayProxyEventV2 => {
  const base = httpApiEvent({ method: 'POST', route: '/echo/{name}', path: '/echo/J%C3%BCrgen%20B' })
  const { headers, ...rest } = overrides
  return { ...base, ...rest, headers: { host: base.headers.host as string, ...headers } }
}

/** A REST API (payload 1.0) event, as API Gateway sends one. */
function v1(method: string, path: string, headers: Record<string, string>, body: string | null): APIGatewayProxyEvent {
  return {
    resource: '/echo/{name}',
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: { tag: 'a' },
    multiValueQueryStringParameters: { tag: ['a', 'b'] },
    pathParameters: { name: 'rest' },
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'rest123',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      identity: { sourceIp: '198.51.100.7', userAgent: 'curl/8.5.0' } as APIGatewayProxyEvent['requestContext']['identity'],
      path: `/prod${path}`,
      stage: 'prod',
      requestId: 'rest-request-1',
      requestTimeEpoch: Date.now(),
      resourceId: 'abc',
      resourcePath: '/echo/{name}',
    },
    body,
    isBase64Encoded: false,
  }
}

describe('Lambda events as AWS sends them, through the built bundle', () => {
  mkdirSync(join(process.cwd(), '.data'), { recursive: true })
  const out = mkdtempSync(join(process.cwd(), '.data', 'events-'))
  let fn: LambdaFunction

  before(async () => {
    const { file } = await buildFunction('tests/fixtures/functions/echo.ts', out)
    fn = (await import(pathToFileURL(file).href)) as LambdaFunction
  })
  after(async () => {
    await fn?.shutdown()
    rmSync(out, { recursive: true, force: true })
  })

  const call = async (event: unknown): Promise<Result> => (await fn.handler(event as APIGatewayProxyEventV2, lambdaContext())) as Result
  const json = (result: Result) => JSON.parse(result.body ?? '') as Record<string, unknown>

  it('payload 2.0: header names in any case, cookies apart, the path decoded once, repeated query keys', async () => {
    const result = await call(
      v2({
        rawQueryString: 'tag=first&tag=last',
        cookies: ['session=abc', 'theme=dark'],
        headers: { 'Content-Type': 'text/plain', 'X-Token': 't0k', 'X-Request-Id': 'trace-1' },
        body: 'hello',
      }),
    )
    assert.equal(result.statusCode, 200)
    assert.deepEqual(json(result), {
      method: 'POST',
      path: '/echo/Jürgen B',
      name: 'Jürgen B',
      query: { tag: ['first', 'last'] },
      contentType: 'text/plain',
      token: 't0k',
      cookies: { session: 'abc', theme: 'dark' },
      body: 'hello',
    })
    assert.equal(result.headers?.['x-request-id'], 'trace-1')
  })

  it('payload 2.0: a base64 body (JSON, a form) is decoded, a null body is no body', async () => {
    const encoded = await call(v2({ headers: { 'content-type': 'application/json' }, body: Buffer.from('{"n":1}').toString('base64'), isBase64Encoded: true }))
    assert.equal(json(encoded).body, '{"n":1}')
    const form = await call(v2({ headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Buffer.from('username=al%20ice&password=x').toString('base64'), isBase64Encoded: true }))
    assert.deepEqual([json(form).contentType, json(form).body], ['application/x-www-form-urlencoded', 'username=al%20ice&password=x'])
    const nothing = await call({ ...v2({}), body: null })
    assert.equal(nothing.statusCode, 200)
    assert.equal(json(nothing).body, '')
  })

  it('a GET with a body is served as a GET, the body ignored', async () => {
    const result = await call(v2({ requestContext: { ...v2({}).requestContext, http: { ...v2({}).requestContext.http, method: 'GET' } }, body: 'ignored' }))
    assert.equal(result.statusCode, 200)
    assert.equal(json(result).method, 'GET')
  })

  it('a named stage: its prefix is not part of the path (405 with Allow on a known path)', async () => {
    const base = v2({})
    const staged = await call({ ...base, rawPath: '/prod/echo/x', requestContext: { ...base.requestContext, stage: 'prod' } })
    assert.equal(json(staged).path, '/echo/x')
    const wrongMethod = await call({
      ...base,
      rawPath: '/prod/things/7',
      requestContext: { ...base.requestContext, stage: 'prod', http: { ...base.requestContext.http, method: 'GET' } },
    })
    assert.equal(wrongMethod.statusCode, 405)
    assert.equal(wrongMethod.headers?.allow, 'PUT')
  })

  it('a Function URL event (payload 2.0, routeKey $default, its own domain)', async () => {
    const base = v2({ headers: { 'content-type': 'text/plain' }, body: 'via url' })
    const result = await call({ ...base, routeKey: '$default', requestContext: { ...base.requestContext, domainName: 'abc.lambda-url.eu-west-1.on.aws', routeKey: '$default' } })
    assert.equal(result.statusCode, 200)
    assert.equal(json(result).body, 'via url')
  })

  it('payload 1.0 (a REST API): multi-value headers and query, the body as text, headers back as multi-value', async () => {
    const result = await call(v1('POST', '/echo/rest', { 'Content-Type': 'text/plain', 'X-Token': 'v1', Host: 'rest123.execute-api.eu-west-1.amazonaws.com' }, 'one'))
    assert.equal(result.statusCode, 200)
    assert.deepEqual(json(result), {
      method: 'POST',
      path: '/echo/rest',
      name: 'rest',
      query: { tag: ['a', 'b'] },
      contentType: 'text/plain',
      token: 'v1',
      cookies: {},
      body: 'one',
    })
    assert.equal(result.multiValueHeaders?.['x-request-id']?.[0], 'rest-request-1')
  })

  it('an event it cannot read: 400 in the contract’s shape, with a request id and a log line', async () => {
    // The bundle has its own copy of the logger, which writes to stdout as on Lambda.
    const lines: string[] = []
    const write = process.stdout.write
    process.stdout.write = ((text: string) => lines.push(...text.split('\n').filter((line) => line !== ''))) as unknown as typeof process.stdout.write
    let results: Result[]
    try {
      results = [await call({ requestContext: { requestId: 'broken-1' } }), await call(v2({ headers: { 'x-token': 'line\nbreak' } }))]
    } finally {
      process.stdout.write = write
    }
    for (const result of results) {
      assert.equal(result.statusCode, 400)
      assert.deepEqual(JSON.parse(result.body ?? ''), { detail: 'There was an error parsing the request' })
      assert.ok(result.headers?.['x-request-id'])
      assert.equal(result.headers?.['x-content-type-options'], 'nosniff')
      assert.equal(result.headers?.['cache-control'], 'no-store')
    }
    assert.equal(results[0]?.headers?.['x-request-id'], 'broken-1')
    const logged = lines.map((line) => JSON.parse(line) as { message: string; status: number; request_id: string })
    assert.deepEqual(
      logged.filter((entry) => entry.message === 'request').map((entry) => entry.status),
      [400, 400],
    )
  })
})

describe('payload 2.0 read and written as hono/aws-lambda does', () => {
  // What a request looks like to Hono, and answers of each kind: JSON, binary, with cookies.
  const app = new Hono()
    .all('/echo/*', async (c) => {
      const headers: Record<string, string> = {}
      c.req.raw.headers.forEach((value, name) => (headers[name] = value))
      return c.json({ url: c.req.url, method: c.req.method, headers, body: await c.req.text(), form: c.req.header('content-type')?.startsWith('multipart') ? Object.keys(await c.req.parseBody()) : null })
    })
    .get('/png', (c) => c.body(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255]), 200, { 'content-type': 'image/png' }))
    .get('/cookies', (c) => {
      setCookie(c, 'a', '1')
      setCookie(c, 'b', '2', { httpOnly: true })
      return c.text('set')
    })
    // A response model's answer (light to an event), read and changed by middleware after it.
    .get(
      '/model',
      async (c, next) => {
        await next()
        c.header('x-read', `${c.req.header('X-Thing')} ${(await c.res.clone().text()).length}`)
      },
      responds(v.object({ id: v.number() }), 201),
      (c) => {
        c.header('x-before', 'kept')
        return c.var.respond({ id: 7, extra: 'dropped' } as never)
      },
    )
  const theirs = handle(app) as unknown as (event: APIGatewayProxyEventV2, context: unknown) => Promise<unknown>
  const ours = async (event: APIGatewayProxyEventV2) => resultOfResponse(await app.fetch(requestOfEvent(event)))

  const boundary = 'x0x'
  const events: [string, APIGatewayProxyEventV2][] = [
    ['mixed-case headers, cookies, a query', v2({ rawQueryString: 'a=1&a=2&b=%20', cookies: ['s=1', 't=2'], headers: { 'Content-Type': 'text/plain', 'X-Thing': 'Ünïcode' }, body: 'hi' })],
    ['a base64 JSON body', v2({ headers: { 'content-type': 'application/json' }, body: Buffer.from('{"a":1}').toString('base64'), isBase64Encoded: true })],
    ['a base64 multipart form', v2({ headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="username"\r\n\r\nbob\r\n--${boundary}--\r\n`).toString('base64'), isBase64Encoded: true })],
    ['a binary answer', { ...httpApiEvent({ method: 'GET', route: '/png', path: '/png' }) }],
    ['an answer with cookies', { ...httpApiEvent({ method: 'GET', route: '/cookies', path: '/cookies' }) }],
    ['a response model’s answer, changed by middleware', { ...httpApiEvent({ method: 'GET', route: '/model', path: '/model', headers: { 'X-Thing': 'seen' } }) }],
  ]
  for (const [name, event] of events) {
    it(name, async () => {
      assert.deepEqual(await ours(event), await theirs(event, lambdaContext()))
    })
  }

  it('base64-encodes an answer of the same content types as hono/aws-lambda', () => {
    const types = ['application/json', 'application/json; charset=utf-8', 'application/problem+json', 'APPLICATION/XML', 'text/plain', 'text/html; charset=utf-8', 'text/csv', 'text/markdown', 'image/png', 'application/octet-stream', 'application/pdf', 'application/vnd.apple.installer+xml', 'application/vnd.mozilla.xul+xml; charset=utf-8', 'application/jsonl', 'application/x-www-form-urlencoded', '']
    for (const type of types) assert.equal(isBinaryContentType(type), defaultIsContentTypeBinary(type), type)
  })
})
