/**
 * The behaviours FastAPI's own tests check for `Depends` (tests/test_dependency_cache.py,
 * test_dependency_overrides.py, test_dependency_contextmanager.py, ...), through a Lambda
 * handler and payload-2.0 events.
 */
import assert from 'node:assert/strict'
import { after, afterEach, describe, it } from 'node:test'
import * as v from 'valibot'
import { depends, DependencyCycleError, fresh, type Dependency } from '../../lib/http/depends.ts'
import { HttpError } from '../../lib/http/errors.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { route } from '../../lib/http/route.ts'
import { invoke } from '../support/invoke.ts'
import { captureLogs } from '../support/logs.ts'

const functions: LambdaFunction[] = []
after(async () => {
  for (const fn of functions) await fn.shutdown()
})

async function serve(...routes: Parameters<typeof lambdaFunction>[0][]): Promise<LambdaFunction> {
  const fn = await lambdaFunction(routes.flat(), { env: {} })
  functions.push(fn)
  return fn
}

const get = (fn: LambdaFunction, path: string, headers?: Record<string, string>) =>
  invoke(fn.handler, { method: 'GET', route: path, path, ...(headers ? { headers } : {}) })

describe('a dependency used twice in one request', () => {
  let calls = 0
  const counter = depends({ name: 'counter' }, () => ++calls)
  const viaSub = depends({ name: 'viaSub', dependencies: { count: counter } }, ({ count }) => count)
  const shared = route({
    method: 'GET',
    path: '/shared',
    dependencies: { direct: counter, nested: viaSub },
    handler: ({ deps }) => ({ direct: deps.direct, nested: deps.nested }),
  })
  const optedOut = route({
    method: 'GET',
    path: '/fresh',
    dependencies: { direct: counter, again: fresh(counter) },
    handler: ({ deps }) => ({ direct: deps.direct, again: deps.again }),
  })

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
  const me = route({ method: 'GET', path: '/me', dependencies: { admin }, handler: ({ deps }) => deps.admin })

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
  const greet = route({ method: 'GET', path: '/greet', dependencies: { settings }, handler: ({ deps }) => deps.settings })

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
  const ok = route({
    method: 'GET',
    path: '/ok',
    dependencies: { inner },
    handler: () => {
      events.push('handler')
      return { ok: true }
    },
  })
  const boom = route({
    method: 'GET',
    path: '/boom',
    dependencies: { inner },
    handler: () => {
      throw new Error('kaboom')
    },
  })
  const notFound = route({
    method: 'GET',
    path: '/missing',
    dependencies: { inner },
    handler: () => {
      throw new HttpError(404, 'Nothing here')
    },
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
    const fn = await serve(route({ method: 'GET', path: '/t', dependencies: { broken }, handler: () => ({ fine: true }) }))
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
  it('fails when the route is defined, naming the cycle', () => {
    const a: Dependency<number> = depends({ name: 'a', dependencies: () => ({ b }) }, ({ b: value }) => value)
    const b: Dependency<number> = depends({ name: 'b', dependencies: () => ({ a }) }, ({ a: value }) => value)
    assert.throws(() => route({ method: 'GET', path: '/cycle', dependencies: { a }, handler: () => null }), {
      name: 'DependencyCycleError',
      message: 'dependency cycle: a -> b -> a',
    })
  })
})

describe('types flow from declarations into the handler', () => {
  it('gives the handler typed params, query and dependencies', async () => {
    const number = depends({ name: 'number' }, async () => 41)
    const typed = route({
      method: 'GET',
      path: '/typed/{name}',
      params: v.object({ name: v.string() }),
      query: v.object({ shout: v.optional(v.picklist(['yes', 'no']), 'no') }),
      dependencies: { number },
      response: v.object({ text: v.string(), next: v.number() }),
      handler: ({ params, query, deps }) => ({
        text: query.shout === 'yes' ? params.name.toUpperCase() : params.name,
        next: deps.number + 1,
      }),
    })
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
