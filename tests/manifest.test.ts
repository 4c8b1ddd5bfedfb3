/**
 * The manifest is plain data (sst.config.ts reads it without loading route code), so what it
 * says of each function is checked against the code: the secrets it links are exactly those
 * its route's lifespans read, and the shared cache's (RedisUrl) for a route that may answer stale.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ROUTES } from '../lib/routes.ts'

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
