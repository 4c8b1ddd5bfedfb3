/**
 * What is deployed comes from the route files of functions/ (lib/functions.ts): each serves
 * the route its place names; what SST, the Worker and the docs read (lib/generated/) is what
 * the files say now; and each function is linked to exactly the secrets its route's code reads.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { loadFunctions, routeFiles, routeOfFile } from '../lib/functions.ts'
import { staleFiles } from '../lib/dev/routes.ts'
import { DEFAULT_ENTRY, MANIFEST } from '../lib/manifest.ts'
import { WORKER_ENTRY } from '../lib/dev/build.ts'

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((item) =>
    item.isDirectory() ? filesUnder(join(folder, item.name)) : [join(folder, item.name)],
  )
}

describe('the functions, derived from functions/', () => {
  it('names each route by its place: method from the file, path from the folders', () => {
    assert.deepEqual(routeOfFile('functions/users/[id]/avatar/put.ts'), {
      entry: 'functions/users/[id]/avatar/put.ts',
      method: 'PUT',
      path: '/users/{id}/avatar',
      order: 'users/~[id]/avatar/put',
    })
    assert.throws(() => routeOfFile('functions/users/helpers.ts'), /named for its method/)
    assert.throws(() => routeOfFile('functions/users/{id}/get.ts'), /neither a path segment nor a \[parameter\]/)
  })

  it('lists fixed paths before parameters, as API Gateway matches them', () => {
    const paths = routeFiles().map((item) => `${item.method} ${item.path}`)
    assert.ok(paths.indexOf('GET /users/me') < paths.indexOf('GET /users/{id}'))
  })

  it('has lib/generated/ say what the route files say (npm run routes writes it)', async () => {
    assert.deepEqual(await staleFiles(), [])
  })

  it('deploys every route file and nothing else; functions/ holds only those and the _ entries', () => {
    const files = filesUnder('functions').sort()
    assert.deepEqual(files, [...MANIFEST.map((route) => route.entry), DEFAULT_ENTRY, WORKER_ENTRY].sort())
  })

  it('links each function to the secrets its route’s code reads (its lifespans’, RedisUrl for a stale fallback)', async () => {
    const functions = await loadFunctions()
    const byKey = Object.fromEntries(functions.map((item) => [`${item.method} ${item.path}`, item.secrets]))
    // Every function of the database shares what it finds of it (down, back) through Redis.
    assert.deepEqual(byKey['GET /health'], ['DatabaseReplicaUrl', 'DatabaseUrl', 'RedisUrl'])
    assert.deepEqual(byKey['GET /users/{id}'], ['DatabaseReplicaUrl', 'DatabaseUrl', 'JwtSecret', 'RedisUrl'])
    assert.deepEqual(byKey['POST /users'], ['DatabaseReplicaUrl', 'DatabaseUrl', 'JwtSecret', 'RedisUrl'])
    // Sign-in counts attempts in Redis, so that every instance counts together.
    assert.deepEqual(byKey['POST /auth/token'], ['DatabaseReplicaUrl', 'DatabaseUrl', 'JwtSecret', 'RedisUrl'])
    assert.deepEqual(byKey['GET /openapi.json'], [])
  })

  it('refuses a route file that serves another route than its place names', async () => {
    mkdirSync(join(process.cwd(), '.data'), { recursive: true })
    const root = mkdtempSync(join(process.cwd(), '.data', 'routes-'))
    try {
      mkdirSync(join(root, 'functions', 'things'), { recursive: true })
      const lib = JSON.stringify(join(process.cwd(), 'lib/http/lambda.ts'))
      writeFileSync(
        join(root, 'functions/things/get.ts'),
        `import { Hono } from 'hono'\nimport { lambdaFunction } from ${lib}\nexport const route = new Hono().get('/stuff', (c) => c.json([]))\nexport const { handler } = await lambdaFunction(route as never)\n`,
      )
      await assert.rejects(loadFunctions(root), /functions\/things\/get.ts: serves GET \/stuff; its place says GET \/things/)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
