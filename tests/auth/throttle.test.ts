/**
 * Sign-in throttling (lib/auth/throttle.ts): through the sign-in function's Lambda handler
 * with payload-2.0 events, and over HTTP against the dev server. When REDIS_URL is set (CI's
 * PostgreSQL run) the functions count in Redis, and two instances count together; without it
 * each instance counts alone. Every test uses usernames and addresses of its own, so that
 * nothing depends on other tests, or on other runs counting in the same Redis.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { dbConn, type Session } from '../../lib/db/database.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { depends } from '../../lib/http/depends.ts'
import { HttpError } from '../../lib/http/errors.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { clientNetwork } from '../../lib/http/client-address.ts'
import { createUser, type TestUser } from '../support/auth.ts'
import { externalUrl, functionEnv, startTestDatabase, uniqueName } from '../support/database.ts'
import { startOwnDev, type OwnDev, type Running } from '../support/dev-server.ts'
import { invoke, type Invocation } from '../support/invoke.ts'
import { login } from '../support/routes.ts'

const REDIS_URL = process.env.REDIS_URL || undefined
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const WINDOW_SECONDS = 900

const hex = () => Math.floor(Math.random() * 0x10000).toString(16)
/** A client network no other test or run uses: an IPv6 /64 of the documentation prefix. */
const newAddress = () => `2001:db8:${hex()}:${hex()}::${hex()}`
const form = (username: string, password: string) => new URLSearchParams({ username, password }).toString()

function assertThrottled(answer: { status: number; headers: Record<string, string | undefined>; json(): unknown }): void {
  assert.equal(answer.status, 429)
  assert.deepEqual(answer.json(), { detail: 'Too many sign-in attempts; try again later' })
  const retryAfter = answer.headers['retry-after'] ?? ''
  assert.match(retryAfter, /^\d+$/)
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= WINDOW_SECONDS, retryAfter)
}

describe(`sign-in throttling through the Lambda handler (${REDIS_URL ? 'counted in Redis' : 'counted per instance'})`, () => {
  let database: DevDatabase
  let env: Record<string, string>
  const functions: LambdaFunction[] = []
  let fn: LambdaFunction

  const start = async (extra: Record<string, string> = {}) => {
    const started = await lambdaFunction(login, { env: { ...env, ...extra } })
    functions.push(started)
    return started
  }
  const signIn = (target: LambdaFunction, username: string, password: string, sourceIp: string): Promise<Invocation> =>
    invoke(target.handler, { method: 'POST', route: '/auth/token', path: '/auth/token', headers: FORM, body: form(username, password), sourceIp })
  const failTimes = async (target: LambdaFunction, times: number, username: string, sourceIp: string) => {
    for (let i = 0; i < times; i++) assert.equal((await signIn(target, username, 'not the password', sourceIp)).status, 401, `failure ${i + 1}`)
  }

  before(async () => {
    database = await startTestDatabase()
    env = { ...functionEnv(database), ...(REDIS_URL ? { REDIS_URL } : {}) }
    fn = await start()
  })
  after(async () => {
    for (const item of functions) await item.shutdown()
    await database?.close()
  })

  it('refuses the right password after 10 wrong ones: 429 with Retry-After, until the window ends', async () => {
    const user = await createUser(database.url, { prefix: 'guessed' })
    const address = newAddress()
    await failTimes(fn, 10, user.username, address)
    assertThrottled(await signIn(fn, user.username, user.password, address))
    assertThrottled(await signIn(fn, user.username, 'not the password', address))
  })

  it('counts an unknown username alike, and refuses it with the same answer', async () => {
    const nobody = uniqueName('nobody')
    const address = newAddress()
    await failTimes(fn, 10, nobody, address)
    assertThrottled(await signIn(fn, nobody, 'not the password', address))
  })

  it('signs in with the right password before the limit, which clears the username’s failures', async () => {
    const user = await createUser(database.url, { prefix: 'forgetful' })
    const address = newAddress()
    await failTimes(fn, 9, user.username, address)
    assert.equal((await signIn(fn, user.username, user.password, address)).status, 200)
    // 18 failures in the window now, but 9 since the last sign-in.
    await failTimes(fn, 9, user.username, address)
    assert.equal((await signIn(fn, user.username, user.password, address)).status, 200)
  })

  it('holds a locked username from every address, and leaves other usernames and addresses alone', async () => {
    const locked = await createUser(database.url, { prefix: 'locked' })
    const other = await createUser(database.url, { prefix: 'other' })
    const [attacker, elsewhere] = [newAddress(), newAddress()]
    await failTimes(fn, 10, locked.username, attacker)
    assertThrottled(await signIn(fn, locked.username, locked.password, elsewhere))
    assert.equal((await signIn(fn, other.username, other.password, elsewhere)).status, 200)
    assert.equal((await signIn(fn, other.username, other.password, attacker)).status, 200, '10 failures are well under the address’s limit')
  })

  it('refuses an address after its own limit of failures, whatever the usernames; sign-ins that succeed are not counted', async () => {
    const strict = await start({ SIGN_IN_ADDRESS_LIMIT: '5' })
    const user = await createUser(database.url, { prefix: 'shared_nat' })
    const [crowded, quiet] = [newAddress(), newAddress()]
    for (let i = 0; i < 6; i++) assert.equal((await signIn(strict, user.username, user.password, crowded)).status, 200, `sign-in ${i + 1}`)
    for (let i = 0; i < 5; i++) assert.equal((await signIn(strict, uniqueName('sprayed'), 'password1', crowded)).status, 401, `failure ${i + 1}`)
    assertThrottled(await signIn(strict, user.username, user.password, crowded))
    assert.equal((await signIn(strict, user.username, user.password, quiet)).status, 200)
  })

  it('holds nothing against anyone for an attempt the database could not decide', async () => {
    const user = await createUser(database.url, { prefix: 'outage' })
    const address = newAddress()
    const down = await start()
    const unavailable = new HttpError(503, 'Database unavailable', { 'retry-after': '1' })
    down.app.dependencyOverrides.set(dbConn, depends({ name: 'dbDown' }, () => ({ read: () => Promise.reject(unavailable) }) as unknown as Session))
    for (let i = 0; i < 12; i++) assert.equal((await signIn(down, user.username, user.password, address)).status, 503)
    down.app.dependencyOverrides.delete(dbConn)
    await failTimes(down, 9, user.username, address)
    assert.equal((await signIn(down, user.username, user.password, address)).status, 200)
  })

  it('counts in the instance when Redis does not answer', async () => {
    // Nothing listens on port 1: every Redis command fails, fast.
    const alone = await start({ REDIS_URL: 'redis://127.0.0.1:1' })
    const user = await createUser(database.url, { prefix: 'no_redis' })
    const address = newAddress()
    await failTimes(alone, 10, user.username, address)
    assertThrottled(await signIn(alone, user.username, user.password, address))
  })

  it('counts across instances when Redis is configured, and per instance when not', async () => {
    const [first, second] = [await start(), await start()]
    const user: TestUser = await createUser(database.url, { prefix: 'roaming' })
    await failTimes(first, 5, user.username, newAddress())
    await failTimes(second, 5, user.username, newAddress())
    const answer = await signIn(first, user.username, user.password, newAddress())
    if (REDIS_URL) assertThrottled(answer)
    else assert.equal(answer.status, 200, 'each instance has counted 5')
  })
})

describe('client networks', () => {
  it('count an IPv4 address as itself, an IPv6 one by its /64', () => {
    assert.equal(clientNetwork('198.51.100.7'), '198.51.100.7')
    assert.equal(clientNetwork('::ffff:198.51.100.7'), '198.51.100.7')
    assert.equal(clientNetwork('2001:db8:0a:b::1'), '2001:db8:a:b::/64')
    assert.equal(clientNetwork('2001:DB8:A:B:1:2:3:4'), '2001:db8:a:b::/64')
    assert.equal(clientNetwork('2001:db8::1'), '2001:db8:0:0::/64')
    assert.equal(clientNetwork('::1'), '0:0:0:0::/64')
    assert.equal(clientNetwork('fe80::1%eth0'), 'fe80:0:0:0::/64')
  })
})

/** A random loopback address (all of 127/8 reaches the server on Linux): a client of its own. */
const newLoopback = () => `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | undefined>
  json(): unknown
}

/** POST over HTTP from `localAddress`, as a client at that address would. */
function post(api: string, path: string, options: { body: string; localAddress: string; headers?: Record<string, string> }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = request(new URL(path, api), { method: 'POST', localAddress: options.localAddress, headers: { ...FORM, ...options.headers } }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers as Record<string, string>, json: () => JSON.parse(text) }))
    })
    sent.on('error', reject)
    sent.end(options.body)
  })
}

describe('sign-in throttling over HTTP against the dev server', () => {
  let dev: OwnDev
  let running: Running
  let admin: OwnDev['admin']

  before(async () => {
    dev = await startOwnDev(externalUrl, { SIGN_IN_ADDRESS_LIMIT: '12' })
    ;({ running, admin } = dev)
  })
  after(async () => {
    await dev?.stop()
  })

  const signIn = (username: string, password: string, localAddress: string, headers: Record<string, string> = {}) =>
    post(running.api, '/auth/token', { body: form(username, password), localAddress, headers })
  /** Headers a client writes to pass for someone else: the server must not believe them. */
  const forged = () => ({ 'x-forwarded-for': newLoopback(), 'cf-connecting-ip': newLoopback(), 'x-real-ip': newLoopback() })

  it('refuses the right password after 10 wrong ones for the username, and lets another user in from another address', async () => {
    const victim = uniqueName('victim').replace(/_/g, '.')
    const token = await signIn(admin.username, admin.password, newLoopback())
    assert.equal(token.status, 200)
    const { access_token: accessToken } = token.json() as { access_token: string }
    const created = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ username: victim, email: `${victim}@example.com`, password: 'the victim password' })
      const sent = request(new URL('/users', running.api), { method: 'POST', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' } }, (response) => {
        response.resume()
        response.on('end', () => resolve(response.statusCode ?? 0))
      })
      sent.on('error', reject)
      sent.end(body)
    })
    assert.equal(created, 201)
    const attacker = newLoopback()
    for (let i = 0; i < 10; i++) assert.equal((await signIn(victim, 'not the password', attacker, forged())).status, 401)
    assertThrottled(await signIn(victim, 'the victim password', attacker))
    assertThrottled(await signIn(victim, 'the victim password', newLoopback()))
    assert.equal((await signIn(admin.username, admin.password, newLoopback())).status, 200)
  })

  it('counts failures by the connection’s address, never by what the client’s headers claim', async () => {
    const sprayer = newLoopback()
    for (let i = 0; i < 12; i++) assert.equal((await signIn(uniqueName('sprayed'), 'password1', sprayer, forged())).status, 401, `failure ${i + 1}`)
    assertThrottled(await signIn(admin.username, admin.password, sprayer, forged()))
    assert.equal((await signIn(admin.username, admin.password, newLoopback())).status, 200)
  })
})
