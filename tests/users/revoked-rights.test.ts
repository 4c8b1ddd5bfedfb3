/**
 * Rights taken away stay away, with the database up and while it is unreachable (every
 * packet to it lost): after a deletion, a demotion, a deactivation or a password change, the
 * tokens issued before it get 401, and no stale answer is served with the rights the user
 * had. Through the Lambda handlers (one instance, and one instance per function with Redis
 * between them) and over HTTP against the Lambda emulator (a process per instance, Redis).
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { startEmulator } from '../../lib/dev/emulator/emulator.ts'
import { buildManifestFunctions } from '../../lib/dev/emulator/manifest.ts'
import type { FaultProxy } from '../../lib/dev/fault-proxy.ts'
import { behindFaultProxies, type FaultyPaths } from '../../lib/dev/faults.ts'
import { bearer, createUser } from '../support/auth.ts'
import { functionEnv, startTestDatabase } from '../support/database.ts'
import { httpCaller, startGateway, type Call } from '../support/gateway.ts'
import { REDIS_URL, skipWithoutRedis } from '../support/redis.ts'

const JSON_BODY = { 'content-type': 'application/json' }

interface Service {
  readonly call: Call
  close(): Promise<void>
}

/** The functions' settings: the database through `fault`, short timeouts so that an outage is answered quickly. */
function outageEnv(database: DevDatabase, paths: FaultyPaths, fault: FaultProxy, redisUrl: string | undefined): Record<string, string> {
  return {
    ...functionEnv(database),
    DATABASE_URL: paths.urlThrough(fault),
    DATABASE_WS_PROXY: paths.ws.address,
    DATABASE_CONNECT_TIMEOUT_MS: '300',
    DATABASE_QUERY_TIMEOUT_MS: '500',
    DATABASE_RETRY_ATTEMPTS: '2',
    DATABASE_BREAKER_THRESHOLD: '3',
    DATABASE_BREAKER_COOLDOWN_MS: '500',
    ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl }),
  }
}

function revokedRights(name: string, start: (env: Record<string, string>) => Promise<Service>, options: { redis: boolean }): void {
  describe(`revoked rights ${name}`, async () => {
    const skip = options.redis ? await skipWithoutRedis() : false
    let database: DevDatabase
    let paths: FaultyPaths
    let fault: FaultProxy
    let service: Service

    before(async () => {
      if (skip) return
      database = await startTestDatabase()
      paths = await behindFaultProxies(database)
      ;[fault] = paths.proxies as [FaultProxy]
      service = await start(outageEnv(database, paths, fault, options.redis ? REDIS_URL : undefined))
    })
    after(async () => {
      fault?.setMode('forward')
      await service?.close()
      await paths?.close()
      await database?.close()
    })

    const listUsers = (headers: Record<string, string>) => service.call('GET', '/users', { headers })

    it('a deleted, demoted or deactivated super_admin, and a user whose password changed, get 401 for their old tokens, and no stale answer', { skip }, async () => {
      const root = await bearer((await createUser(database.url, { prefix: 'root', role: 'super_admin' })).id)
      const deleted = await createUser(database.url, { prefix: 'deleted', role: 'super_admin' })
      const demoted = await createUser(database.url, { prefix: 'demoted', role: 'super_admin' })
      const deactivated = await createUser(database.url, { prefix: 'deactivated', role: 'super_admin' })
      const reset = await createUser(database.url, { prefix: 'reset', role: 'super_admin' })
      const owner = await createUser(database.url, { prefix: 'owner' })
      const old = {
        deleted: await bearer(deleted.id),
        demoted: await bearer(demoted.id),
        deactivated: await bearer(deactivated.id),
        reset: await bearer(reset.id),
      }
      const ownerOld = await bearer(owner.id)

      // Each is seen before the change: their rights and the list are kept for an outage.
      for (const headers of [root, ...Object.values(old)]) assert.equal((await listUsers(headers)).status, 200)
      assert.equal((await service.call('GET', '/users/me', { headers: ownerOld })).status, 200)

      const patch = (id: number, headers: Record<string, string>, body: object) => service.call('PATCH', `/users/${id}`, { headers: { ...headers, ...JSON_BODY }, body: JSON.stringify(body) })
      assert.equal((await service.call('DELETE', `/users/${deleted.id}`, { headers: root })).status, 204)
      assert.equal((await patch(demoted.id, root, { role: 'user' })).status, 200)
      assert.equal((await patch(deactivated.id, root, { is_active: false })).status, 200)
      assert.equal((await patch(reset.id, root, { password: 'a password reset by an admin' })).status, 200)
      // The change's own answer is its 200, made with the token it ends.
      const own = await patch(owner.id, ownerOld, { password: 'the owner’s new password' })
      assert.equal(own.status, 200, own.text)

      for (const [who, headers] of Object.entries(old)) assert.equal((await listUsers(headers)).status, 401, `${who}, database up`)
      assert.equal((await service.call('GET', '/users/me', { headers: ownerOld })).status, 401, 'owner, database up')
      // A token issued after the change is good.
      const signIn = await service.call('POST', '/auth/token', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: owner.username, password: 'the owner’s new password' }).toString(),
      })
      assert.equal(signIn.status, 200, signIn.text)
      const ownerNew = { authorization: `Bearer ${(signIn.json() as { access_token: string }).access_token}` }
      assert.equal((await service.call('GET', '/users/me', { headers: ownerNew })).status, 200)

      fault.setMode('blackhole')
      try {
        const stale = await listUsers(root)
        assert.equal(stale.status, 200, 'a super_admin whose rights stand gets the stale list')
        assert.ok(stale.headers.age !== undefined, 'marked stale')
        for (const [who, headers] of Object.entries(old)) {
          const answer = await listUsers(headers)
          assert.equal(answer.status, 401, `${who}, database unreachable: ${answer.status} ${answer.text.slice(0, 80)}`)
        }
        assert.equal((await service.call('GET', '/users/me', { headers: ownerOld })).status, 401, 'owner’s old token, database unreachable')
        // A token of the demoted user's new version: their rights since the change are not
        // known here (only what was kept before it), so no stale answer either.
        const demotedNew = await listUsers(await bearer(demoted.id, 600, 1))
        assert.equal(demotedNew.status, 503, demotedNew.text)
      } finally {
        fault.setMode('forward')
      }
    })
  })
}

revokedRights('through the Lambda handlers, one instance', (env) => startGateway(env, { oneInstance: true }), { redis: false })

revokedRights('through the Lambda handlers, an instance per function, Redis between them', (env) => startGateway(env), { redis: true })

revokedRights(
  'over HTTP against the Lambda emulator (a process per instance), Redis between them',
  async (env) => {
    mkdirSync(join(process.cwd(), '.data'), { recursive: true })
    const out = mkdtempSync(join(process.cwd(), '.data', 'revoked-'))
    const emulator = await startEmulator({ functions: await buildManifestFunctions(out), env: { ...env, PATH: process.env.PATH ?? '' }, concurrency: 2, log: () => undefined })
    return {
      call: httpCaller(emulator.url),
      async close() {
        await emulator.close()
        rmSync(out, { recursive: true, force: true })
      },
    }
  },
  { redis: true },
)
