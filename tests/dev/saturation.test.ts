/**
 * A busy instance is not a database outage: twenty wrong-password sign-ins at once on the dev
 * server (one process, a pool of 2; each sign-in hashes for tens of milliseconds) are all
 * answered 401, the breaker stays closed, and another user's reads meanwhile stay fresh.
 * The connect timeout is short (500 ms) so that a sign-in that held its connection across
 * the hash would make the others time out waiting, as they did before. The stale budget is
 * the deadline's: on a loaded machine twenty hashes may keep a read past the 1 s default, and
 * a read answered stale for being slow is not what this is about (an open breaker would
 * answer stale at once, whatever the budget).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { externalUrl } from '../support/database.ts'
import { startOwnDev, type OwnDev } from '../support/dev-server.ts'
import { httpCaller, type Call } from '../support/gateway.ts'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

describe('twenty wrong-password sign-ins at once on the dev server', () => {
  let dev: OwnDev
  let call: Call

  before(async () => {
    dev = await startOwnDev(externalUrl, { DATABASE_POOL_MAX: '2', DATABASE_CONNECT_TIMEOUT_MS: '500', STALE_AFTER_MS: '60000' })
    call = httpCaller(dev.running.api)
  })
  after(async () => {
    await dev?.stop()
  })

  it('answers every one 401, keeps the breaker closed, and keeps other reads fresh', async () => {
    const signIn = await call('POST', '/auth/token', { headers: FORM, body: new URLSearchParams(dev.admin).toString() })
    assert.equal(signIn.status, 200, signIn.text)
    const auth = { authorization: `Bearer ${(signIn.json() as { access_token: string }).access_token}` }
    const me = (await call('GET', '/users/me', { headers: auth })).json() as { id: number }
    // Read once, so that a stale copy exists: a degraded answer would show as one.
    assert.equal((await call('GET', `/users/${me.id}`, { headers: auth })).status, 200)
    const before = dev.running.output().length

    // Twenty different names: the sign-in throttle (10 failures per name) is not what this is about.
    const signIns = Array.from({ length: 20 }, (_, i) =>
      call('POST', '/auth/token', { headers: FORM, body: new URLSearchParams({ username: `nobody.${i}.${dev.admin.username}`, password: 'wrong password' }).toString() }),
    )
    const reads = Array.from({ length: 5 }, () => call('GET', `/users/${me.id}`, { headers: auth }))
    const [signInAnswers, readAnswers] = await Promise.all([Promise.all(signIns), Promise.all(reads)])

    assert.deepEqual(signInAnswers.map((answer) => answer.status), Array(20).fill(401))
    assert.deepEqual(readAnswers.map((answer) => [answer.status, answer.headers['cache-status']]), Array(5).fill([200, undefined]))
    const during = dev.running.output().slice(before)
    for (const line of ['database circuit breaker', 'database unavailable', 'served stale']) {
      assert.ok(!during.includes(`"message":"${line}"`), `no "${line}" line:\n${during}`)
    }
    const health = await call('GET', '/health')
    assert.deepEqual(health.json(), { status: 'ok' })
  })
})
