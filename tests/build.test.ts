/**
 * The bundles `npm run build` writes are what Lambda runs: each loads and answers, here on
 * the test database, the users function also with the shared cache on when Redis is there.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { pathToFileURL } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { buildFunctions, type BundleSize } from '../lib/dev/build.ts'
import type { DevDatabase } from '../lib/dev/database.ts'
import type { LambdaFunction } from '../lib/http/lambda.ts'
import { DEFAULT_ENTRY, MANIFEST } from '../lib/manifest.ts'
import { bearer, createUser } from './support/auth.ts'
import { functionEnv, startTestDatabase } from './support/database.ts'
import { invoke } from './support/invoke.ts'

describe('function bundles', () => {
  // Inside the repository: on Node 20 (no global WebSocket) the bundles load `ws` from node_modules.
  mkdirSync(join(process.cwd(), '.data'), { recursive: true })
  const out = mkdtempSync(join(process.cwd(), '.data', 'bundles-'))
  let sizes: BundleSize[]
  let database: DevDatabase
  const loaded: LambdaFunction[] = []

  before(async () => {
    sizes = await buildFunctions(out)
    database = await startTestDatabase()
    Object.assign(process.env, functionEnv(database), { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
  })
  after(async () => {
    for (const fn of loaded) await fn.shutdown()
    await database?.close()
    rmSync(out, { recursive: true, force: true })
  })

  const load = async (entry: string) => {
    const size = sizes.find((item) => item.entry === entry)
    assert.ok(size, `a bundle for ${entry}`)
    const fn = (await import(pathToFileURL(size.file).href)) as LambdaFunction
    loaded.push(fn)
    return fn
  }

  it('writes one bundle per function, with what it loads at start and on demand', () => {
    const entries = [DEFAULT_ENTRY, ...MANIFEST.map((item) => item.entry)].sort()
    assert.deepEqual(
      sizes.map((size) => size.entry),
      entries,
    )
    for (const size of sizes) assert.ok(size.bytes > 0 && size.gzipBytes < size.bytes)
  })

  it('puts in each function only its route’s code and what that imports (the build’s metafile)', () => {
    const of = (entry: string) => sizes.find((item) => item.entry === entry)?.inputs ?? []
    const getUser = of('functions/users/[id]/get.ts')
    assert.ok(getUser.includes('functions/users/[id]/get.ts'))
    assert.ok(getUser.includes('lib/auth/tokens.ts'), 'it checks tokens')
    // Reading a user hashes no password: neither the hashing module nor another route is in it.
    assert.ok(!getUser.includes('lib/auth/password.ts'), 'no password hashing in GET /users/{id}')
    assert.deepEqual(
      getUser.filter((input) => input.startsWith('functions/')),
      ['functions/users/[id]/get.ts'],
    )
    assert.ok(of('functions/users/post.ts').includes('lib/auth/password.ts'), 'POST /users hashes the new password')
    // The docs serve the document written at build time: no route's code, no database driver.
    for (const entry of ['functions/openapi.json/get.ts', 'functions/docs/get.ts', DEFAULT_ENTRY]) {
      assert.deepEqual(
        of(entry).filter((input) => input.startsWith('functions/')),
        entry === DEFAULT_ENTRY ? [DEFAULT_ENTRY] : [entry],
      )
      assert.ok(!of(entry).some((input) => input.includes('@neondatabase')), `${entry} carries no database driver`)
    }
  })

  it('serves Swagger UI from the files beside the docs bundle (Lambda\'s task root), which no other function carries', async () => {
    const entry = 'functions/docs/[file]/get.ts'
    const size = sizes.find((item) => item.entry === entry)
    assert.ok(size)
    for (const item of sizes) {
      const swagger = item.inputs.filter((input) => input.includes('swagger-ui-dist'))
      const docs = item.entry === entry || item.entry === 'functions/docs/get.ts'
      assert.deepEqual(swagger, docs ? ['node_modules/swagger-ui-dist/package.json'] : [], `${item.entry}: Swagger UI's code is in no bundle, its version only in the docs'`)
    }
    const fn = (await import(pathToFileURL(size.file).href)) as LambdaFunction
    const root = process.env.LAMBDA_TASK_ROOT
    process.env.LAMBDA_TASK_ROOT = dirname(size.file)
    try {
      const get = (file: string, headers: Record<string, string> = {}) => invoke(fn.handler, { method: 'GET', route: '/docs/{file}', path: `/docs/${file}`, pathParameters: { file }, headers })
      const bundle = await get('swagger-ui-bundle.js')
      assert.equal(bundle.status, 200)
      assert.equal(bundle.headers['content-type'], 'text/javascript; charset=utf-8')
      assert.ok(bundle.bytes.equals(readFileSync(join(dirname(size.file), 'swagger-ui', 'swagger-ui-bundle.js'))), 'the copied file, byte for byte')
      const zipped = await get('swagger-ui.css', { 'accept-encoding': 'gzip, deflate, br' })
      assert.equal(zipped.headers['content-encoding'], 'gzip')
      assert.ok(gunzipSync(zipped.bytes).equals(readFileSync('node_modules/swagger-ui-dist/swagger-ui.css')))
      assert.ok(zipped.bytes.length < readFileSync('node_modules/swagger-ui-dist/swagger-ui.css').length / 3)
      assert.equal((await get('index.html')).status, 404, 'only the files the page loads')
      assert.equal((await get('..%2Fpackage.json')).status, 404)
    } finally {
      if (root === undefined) delete process.env.LAMBDA_TASK_ROOT
      else process.env.LAMBDA_TASK_ROOT = root
      await fn.shutdown()
    }
  })

  it('runs the health bundle against the database', async () => {
    const fn = await load('functions/health/get.ts')
    const response = await invoke(fn.handler, { method: 'GET', route: '/health', path: '/health' })
    assert.deepEqual(response.json(), { status: 'ok' })
  })

  it('runs the users bundle, whose Redis client is a chunk loaded on demand', async () => {
    const fn = await load('functions/users/[id]/get.ts')
    const admin = await createUser(database.url, { prefix: 'admin', role: 'super_admin' })
    const response = await invoke(fn.handler, { method: 'GET', route: '/users/{id}', path: '/users/987654321', headers: await bearer(admin.id) })
    assert.equal(response.status, 404)
    assert.ok((sizes.find((item) => item.entry === 'functions/users/[id]/get.ts')?.lazyBytes ?? 0) > 0)
  })

  it('signs in with the token bundle and reads the caller with the users/me bundle', async () => {
    const user = await createUser(database.url, { prefix: 'bundled' })
    const login = await load('functions/auth/token/post.ts')
    const body = new URLSearchParams({ username: user.username, password: user.password }).toString()
    const token = await invoke(login.handler, {
      method: 'POST',
      route: '/auth/token',
      path: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
    assert.equal(token.status, 200, token.body)
    const { access_token: accessToken } = token.json() as { access_token: string }
    const me = await load('functions/users/me/get.ts')
    const response = await invoke(me.handler, { method: 'GET', route: '/users/me', path: '/users/me', headers: { authorization: `Bearer ${accessToken}` } })
    assert.equal(response.status, 200)
    assert.equal((response.json() as { username: string }).username, user.username)
  })
})
