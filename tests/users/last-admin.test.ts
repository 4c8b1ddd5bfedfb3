/**
 * The last active super_admin cannot be deleted, deactivated or demoted: 409, and nothing
 * changes; with another one left, it can. Two super_admins demoting each other at once leave
 * one. Through the Lambda handlers and over HTTP against the dev server, each on a database of
 * its own (a shared one holds other tests' super_admins).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { externalUrl, startOwnDatabase, uniqueName } from '../support/database.ts'
import type { Call } from '../support/gateway.ts'
import { devServerTarget, lambdaTarget, type ApiTarget } from '../support/targets.ts'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_BODY = { 'content-type': 'application/json' }
const LAST = { detail: 'The last active super_admin cannot be deleted, deactivated or demoted' }

function lastSuperAdmin(name: string, start: () => Promise<ApiTarget>): void {
  describe(`the last super_admin, ${name}`, () => {
    let target: ApiTarget
    let call: Call
    /** The one super_admin the first test leaves. */
    let standing: { id: number; auth: Record<string, string> }

    async function signIn(username: string, password: string): Promise<{ id: number; auth: Record<string, string> }> {
      const answer = await call('POST', '/auth/token', { headers: FORM, body: new URLSearchParams({ username, password }).toString() })
      assert.equal(answer.status, 200, answer.text)
      const auth = { authorization: `Bearer ${(answer.json() as { access_token: string }).access_token}` }
      return { id: ((await call('GET', '/users/me', { headers: auth })).json() as { id: number }).id, auth }
    }

    async function newSuperAdmin(by: Record<string, string>): Promise<{ id: number; auth: Record<string, string> }> {
      const username = uniqueName('sa').replace(/_/g, '.')
      const made = await call('POST', '/users', { headers: { ...by, ...JSON_BODY }, body: JSON.stringify({ username, email: `${username}@example.com`, password: 'a good long password', role: 'super_admin' }) })
      assert.equal(made.status, 201, made.text)
      return signIn(username, 'a good long password')
    }

    const activeSuperAdmins = async (auth: Record<string, string>) =>
      ((await call('GET', '/users', { headers: auth, query: { results_per_page: '100' } })).json() as { items: { role: string }[] }).items.filter((user) => user.role === 'super_admin').length

    before(async () => {
      target = await start()
      call = target.call
    })
    after(async () => {
      await target?.close()
    })

    it('409 for deleting, deactivating or demoting the only one, and nothing changes; with another left, 200', async () => {
      const first = await signIn(target.admin.username, target.admin.password)
      for (const [method, body] of [
        ['PATCH', '{"role": "user"}'],
        ['PATCH', '{"role": "admin", "full_name": "Demoted"}'],
        ['PATCH', '{"is_active": false}'],
        ['DELETE', undefined],
      ] as const) {
        const answer = await call(method, `/users/${first.id}`, { headers: { ...first.auth, ...JSON_BODY }, ...(body === undefined ? {} : { body }) })
        assert.equal(answer.status, 409, `${method} ${body}: ${answer.text}`)
        assert.deepEqual(answer.json(), LAST)
      }
      const me = (await call('GET', '/users/me', { headers: first.auth })).json() as { role: string; is_active: boolean; full_name: string | null; updated_at: string | null }
      assert.deepEqual([me.role, me.is_active, me.full_name, me.updated_at], ['super_admin', true, null, null])
      // Changes that keep the rights are not refused.
      assert.equal((await call('PATCH', `/users/${first.id}`, { headers: { ...first.auth, ...JSON_BODY }, body: '{"full_name": "Still In Charge", "role": "super_admin", "is_active": true}' })).status, 200)

      // With a second one, the first may step down; then the second is the last.
      const second = await newSuperAdmin(first.auth)
      assert.equal((await call('PATCH', `/users/${first.id}`, { headers: { ...first.auth, ...JSON_BODY }, body: '{"role": "user"}' })).status, 200)
      const refused = await call('DELETE', `/users/${second.id}`, { headers: second.auth })
      assert.equal(refused.status, 409)
      assert.equal(await activeSuperAdmins(second.auth), 1)
      // Another user's row is deleted as ever.
      assert.equal((await call('DELETE', `/users/${first.id}`, { headers: second.auth })).status, 204)
      standing = second
    })

    it('two super_admins demoting each other at once leave one', async () => {
      const a = await newSuperAdmin(standing.auth)
      const b = await newSuperAdmin(standing.auth)
      assert.equal((await call('DELETE', `/users/${standing.id}`, { headers: a.auth })).status, 204)
      const answers = await Promise.all([
        call('PATCH', `/users/${b.id}`, { headers: { ...a.auth, ...JSON_BODY }, body: '{"role": "user"}' }),
        call('PATCH', `/users/${a.id}`, { headers: { ...b.auth, ...JSON_BODY }, body: '{"role": "user"}' }),
      ])
      // The second to run is refused: 409; or 401 if it read its caller after the first (the
      // demotion ended the caller's token).
      const statuses = answers.map((answer) => answer.status).sort()
      assert.ok(['200,401', '200,409'].includes(statuses.join()), `one change went through, the other was refused: ${statuses}`)
      const survivor = answers[0]?.status === 200 ? a : b
      assert.equal(await activeSuperAdmins(survivor.auth), 1)
    })
  })
}

lastSuperAdmin('through the Lambda handlers', async () => lambdaTarget(await startOwnDatabase()))

lastSuperAdmin('over HTTP against the dev server', async () => {
  const database = externalUrl === undefined ? undefined : await startOwnDatabase()
  return devServerTarget(database?.url, async () => database?.close())
})
