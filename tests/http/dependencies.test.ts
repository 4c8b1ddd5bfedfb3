/**
 * The behaviours FastAPI's own tests check for `Depends` (tests/test_dependency_cache.py,
 * test_dependency_overrides.py, test_dependency_contextmanager.py, ...), through a Lambda
 * handler and payload-2.0 events, with routes written as Hono routes and `needs()`.
 */
import assert from 'node:assert/strict'
import { after, afterEach, describe, it } from 'node:test'
import * as v from 'valibot'
import { depends, DependencyCycleError, fresh, type Dependency } from '../../lib/http/depends.ts'
import { HttpError } from '../../lib/http/errors.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { Hono } from 'hono'
import type { AppEnv } from '../../lib/http/env.ts'
import { needs, responds, validate } from '../../lib/http/route.ts'
import { invoke } from '../support/invoke.ts'
import { captureLogs } from '../support/logs.ts'

const functions: LambdaFunction[] = []
after(async () => {
  for (const fn of functions) await fn.shutdown()
})

async function serve(...routes: Hono<AppEnv>[]): Promise<LambdaFunction> {
  const fn = await lambdaFunction(routes, { env: {} })
  functions.push(fn)
  return fn
}

const get = (fn: LambdaFunction, path: string, headers?: Record<string, string>) =>
  invoke(fn.handler, { method: 'GET', route: path, path, ...(headers ? { headers } : {}) })

describe('a dependency used twice in one request', () => {
  let calls = 0
  const counter = depends({ name: 'counter' }, () => ++calls)
  const viaSub = depends({ name: 'viaSub', dependencies: { count: counter } }, ({ count }) => count)
  const shared = new Hono<AppEnv>().get('/shared', needs({ direct: counter, nested: viaSub }), (c) => c.json({ direct: c.var.direct, nested: c.var.nested }))
  const optedOut = new Hono<AppEnv>().get('/fresh', needs({ direct: counter, again: fresh(counter) }), (c) => c.json({ direct: c.var.direct, again: c.var.again }))

  it('runs once and shares its value', async () => {
    const fn = await serve(shared, optedOut)
    calls = 0
    assert.deepEqual((await get(fn, '/shared')).json(), { direct: 1, nested: 1 })
    assert.equal(calls, 1)
  })

  it('runs again for the next request', async () => {
    const fn = await serve(shared)
    calls = 0
    await get(fn, '/shared')
    assert.deepEqual((await get(fn, '/shared')).json(), { direct: 2, nested: 2 })
    assert.equal(calls, 2)
  })

  it('runs again where a use opts out of the cache', async () => {
    const fn = await serve(optedOut)
    calls = 0
    assert.deepEqual((await get(fn, '/fresh')).json(), { direct: 1, again: 2 })
    assert.equal(calls, 2)
  })
})

describe('nested dependencies', () => {
  const token = depends({ name: 'token' }, (_, scope) => scope.request.headers.get('x-token') ?? '')
  const user = depends({ name: 'user', dependencies: { token } }, ({ token: value }) => {
    if (value !== 'secret') throw new HttpError(401, 'Not authenticated', { 'www-authenticate': 'Bearer' })
    return { name: 'alice' }
  })
  const admin = depends({ name: 'admin', dependencies: { user } }, ({ user: who }) => ({ ...who, admin: true }))
  const me = new Hono<AppEnv>().get('/me', needs({ admin }), (c) => c.json(c.var.admin))

  it('passes each value up the chain', async () => {
    const fn = await serve(me)
    assert.deepEqual((await get(fn, '/me', { 'x-token': 'secret' })).json(), { name: 'alice', admin: true })
  })

  it('turns an HttpError raised in a dependency into its response, headers included', async () => {
    const fn = await serve(me)
    const response = await get(fn, '/me', { 'x-token': 'wrong' })
    assert.equal(response.status, 401)
    assert.deepEqual(response.json(), { detail: 'Not authenticated' })
    assert.equal(response.headers['www-authenticate'], 'Bearer')
  })
})

describe('dependency overrides', () => {
  const settings = depends({ name: 'settings' }, () => ({ greeting: 'hello' }))
  const greet = new Hono<AppEnv>().get('/greet', needs({ settings }), (c) => c.json(c.var.settings))

  it('replaces a dependency for the app, and the original returns when cleared', async () => {
    const fn = await serve(greet)
    fn.app.dependencyOverrides.set(settings, depends({ name: 'testSettings' }, () => ({ greeting: 'overridden' })))
    assert.deepEqual((await get(fn, '/greet')).json(), { greeting: 'overridden' })
    fn.app.dependencyOverrides.clear()
    assert.deepEqual((await get(fn, '/greet')).json(), { greeting: 'hello' })
  })

  it('solves the override’s own dependencies', async () => {
    const fn = await serve(greet)
    const word = depends({ name: 'word' }, () => 'nested')
    fn.app.dependencyOverrides.set(settings, depends({ name: 'withWord', dependencies: { word } }, ({ word: w }) => ({ greeting: w })))
    assert.deepEqual((await get(fn, '/greet')).json(), { greeting: 'nested' })
  })

  it('refuses an override that would make a cycle', async () => {
    const fn = await serve(greet)
    const loop: Dependency<{ greeting: string }> = depends({ name: 'loop', dependencies: () => ({ settings }) }, ({ settings: s }) => s)
    assert.throws(() => fn.app.dependencyOverrides.set(settings, loop), DependencyCycleError)
  })
})

describe('teardown', () => {
  const events: string[] = []
  afterEach(() => {
    events.length = 0
  })
  const resource = (name: string, needs: Record<string, Dependency<string>> = {}) =>
    depends({ name, dependencies: needs }, async function* () {
      events.push(`open ${name}`)
      try {
        yield name
      } catch (error) {
        events.push(`${name} saw ${(error as Error).message}`)
        throw error
      } finally {
        events.push(`close ${name}`)
      }
    })
  const outer = resource('outer')
  const inner = resource('inner', { outer })
  const ok = new Hono<AppEnv>().get('/ok', needs({ inner }), (c) => {
    events.push('handler')
    return c.json({ ok: true })
  })
  const boom = new Hono<AppEnv>().get('/boom', needs({ inner }), () => {
    throw new Error('kaboom')
  })
  const notFound = new Hono<AppEnv>().get('/missing', needs({ inner }), () => {
    throw new HttpError(404, 'Nothing here')
  })

  it('runs after the handler, in reverse order of setup', async () => {
    const fn = await serve(ok)
    assert.equal((await get(fn, '/ok')).status, 200)
    assert.deepEqual(events, ['open outer', 'open inner', 'handler', 'close inner', 'close outer'])
  })

  it('runs when the handler throws, and the dependency sees the error', async () => {
    const fn = await serve(boom)
    const logs = captureLogs()
    try {
      assert.equal((await get(fn, '/boom')).status, 500)
    } finally {
      logs.restore()
    }
    assert.deepEqual(events, ['open outer', 'open inner', 'inner saw kaboom', 'close inner', 'outer saw kaboom', 'close outer'])
  })

  it('keeps an HttpError raised by the handler as the response', async () => {
    const fn = await serve(notFound)
    const response = await get(fn, '/missing')
    assert.equal(response.status, 404)
    assert.deepEqual(response.json(), { detail: 'Nothing here' })
    assert.ok(events.includes('close outer'))
  })

  it('logs a failing teardown and keeps the response already decided', async () => {
    const broken = depends({ name: 'broken' }, async function* () {
      yield 'value'
      throw new Error('teardown failed')
    })
    const fn = await serve(new Hono<AppEnv>().get('/t', needs({ broken }), (c) => c.json({ fine: true })))
    const logs = captureLogs()
    let response
    try {
      response = await get(fn, '/t')
    } finally {
      logs.restore()
    }
    assert.equal(response.status, 200)
    assert.deepEqual(response.json(), { fine: true })
    const failure = logs.entries.find((entry) => entry.message === 'dependency teardown failed')
    assert.ok(failure, 'the teardown failure is logged')
    assert.equal(failure.dependency, 'broken')
  })
})

describe('a dependency cycle', () => {
  it('fails when the route is declared, naming the cycle', () => {
    const a: Dependency<number> = depends({ name: 'a', dependencies: () => ({ b }) }, ({ b: value }) => value)
    const b: Dependency<number> = depends({ name: 'b', dependencies: () => ({ a }) }, ({ a: value }) => value)
    assert.throws(() => new Hono<AppEnv>().get('/cycle', needs({ a }), (c) => c.body(null)), {
      name: 'DependencyCycleError',
      message: 'dependency cycle: a -> b -> a',
    })
  })
})

describe('types flow from declarations into the handler', () => {
  it('gives the handler typed params, query and dependencies', async () => {
    const number = depends({ name: 'number' }, async () => 41)
    const typed = new Hono<AppEnv>().get(
      '/typed/:name',
      needs({ number }),
      validate({ param: v.object({ name: v.string() }), query: v.object({ shout: v.optional(v.picklist(['yes', 'no']), 'no') }) }),
      responds(v.object({ text: v.string(), next: v.number() })),
      (c) => {
        const { name } = c.req.valid('param')
        return c.var.respond({ text: c.req.valid('query').shout === 'yes' ? name.toUpperCase() : name, next: c.var.number + 1 })
      },
    )
    const fn = await serve(typed)
    const response = await invoke(fn.handler, {
      method: 'GET',
      route: '/typed/{name}',
      path: '/typed/bob',
      query: { shout: 'yes' },
    })
    assert.deepEqual(response.json(), { text: 'BOB', next: 42 })
  })
})
