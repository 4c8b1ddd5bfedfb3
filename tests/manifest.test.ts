/**
 * The manifest is plain data (sst.config.ts reads it without loading route code), so what it
 * says of each function is checked against the code: the secrets it links are exactly those
 * its route's lifespans read, and the shared cache's (RedisUrl) for a route that may answer stale.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { App } from '../lib/http/app.ts'
import { openApiDocument } from '../lib/http/openapi.ts'
import { API_INFO, DEFAULT_ENTRY, MANIFEST } from '../lib/manifest.ts'
import { docs, ROUTES } from '../lib/routes.ts'
import { WORKER_ENTRY } from '../lib/dev/build.ts'

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((item) =>
    item.isDirectory() ? filesUnder(join(folder, item.name)) : [join(folder, item.name)],
  )
}

/** Which lifespan reads which secrets (lib/config.ts: readFunctionConfig, readAuthConfig). */
const SECRETS_OF: Record<string, readonly string[]> = {
  database: ['DatabaseUrl', 'DatabaseReplicaUrl'],
  auth: ['JwtSecret'],
}

describe('the manifest', () => {
  for (const entry of ROUTES) {
    it(`links ${entry.method} ${entry.path} to the secrets its code reads, and no others`, () => {
      const needed = [...entry.route.lifespans].flatMap((item) => {
        assert.ok(item.name in SECRETS_OF, `a lifespan this test does not know: ${item.name}`)
        return SECRETS_OF[item.name] ?? []
      })
      if (entry.route.fallback) needed.push('RedisUrl')
      assert.deepEqual([...entry.secrets].sort(), [...new Set(needed)].sort())
    })
  }
})

describe('the manifest and what is built from it', () => {
  const loaded: { shutdown(): Promise<void> }[] = []
  after(async () => {
    for (const fn of loaded) await fn.shutdown()
  })

  it('has an entry file for every route, and functions/ holds nothing else', () => {
    const files = filesUnder('functions').sort()
    assert.deepEqual(files, [...MANIFEST.map((route) => route.entry), DEFAULT_ENTRY, WORKER_ENTRY].sort())
  })

  it('has each entry serve exactly the route the manifest gives it', async () => {
    // A function starts its lifespans when loaded; none connects before a request.
    Object.assign(process.env, { DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none', JWT_SECRET: 'a-manifest-test-secret-of-32-chars!' })
    for (const entry of ROUTES) {
      const module = (await import(`../${entry.entry}`)) as { app: App; shutdown(): Promise<void> }
      loaded.push(module)
      assert.equal(module.app.routes.length, 1, entry.entry)
      assert.equal(module.app.routes[0], entry.route, `${entry.entry} serves ${entry.method} ${entry.path}`)
      assert.equal(`${entry.route.method} ${entry.route.path}`, `${entry.method} ${entry.path}`)
    }
  })

  it('describes every route in the OpenAPI document, and only those', () => {
    const described = ROUTES.map((entry) => entry.route).filter((item) => item !== docs.openapi && item !== docs.docs)
    const document = openApiDocument(described, API_INFO) as { paths: Record<string, Record<string, unknown>> }
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
    const expected = MANIFEST.filter((route) => route.entry !== 'functions/docs/openapi.ts' && route.entry !== 'functions/docs/page.ts').map((route) => `${route.method} ${route.path}`)
    assert.deepEqual(operations.sort(), expected.sort())
  })
})
