/**
 * Tokens as other JWT code reads and writes them: ours verify with hono/jwt and hono/jwt's
 * verify with ours, and every claim that makes a token not good now is refused.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sign, verify } from 'hono/jwt'
import { issueToken, verifyToken } from '../../lib/auth/tokens.ts'

const SECRET = 'a-test-secret-of-at-least-32-characters'
const now = Math.floor(Date.now() / 1000)
const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A token signed with HS256 over any header and payload, as hono/jwt signs its own. */
async function signed(header: object, payload: object): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const body = `${part(header)}.${part(payload)}`
  const signature = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body))
  return `${body}.${Buffer.from(signature).toString('base64url')}`
}

describe('access tokens', () => {
  it('issues a token that hono/jwt verifies, with its subject, token version, issue time and expiry', async () => {
    const { accessToken, expiresIn } = await issueToken({ id: 42, version: 3 }, SECRET, 1800, now * 1000)
    assert.equal(expiresIn, 1800)
    assert.deepEqual(await verify(accessToken, SECRET, 'HS256'), { sub: '42', ver: 3, iat: now, exp: now + 1800 })
    assert.deepEqual(JSON.parse(Buffer.from(accessToken.split('.')[0] as string, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' })
    assert.deepEqual(await verifyToken(accessToken, SECRET), { id: 42, version: 3 })
  })

  it('verifies what hono/jwt signs with the same key; a token without a version is version 0', async () => {
    assert.deepEqual(await verifyToken(await sign({ sub: '7', ver: 2, exp: now + 60 }, SECRET, 'HS256'), SECRET), { id: 7, version: 2 })
    assert.deepEqual(await verifyToken(await sign({ sub: '7', exp: now + 60 }, SECRET, 'HS256'), SECRET), { id: 7, version: 0 })
    assert.deepEqual(await verifyToken(await signed({ alg: 'HS256', typ: 'application/jwt' }, { sub: '7', exp: now + 60 }), SECRET), { id: 7, version: 0 })
    assert.deepEqual(await verifyToken(await signed({ alg: 'HS256' }, { sub: '7', exp: now + 60 }), SECRET), { id: 7, version: 0 })
  })

  it('refuses a token that is not good now, or not of the pinned kind, even when its signature is right', async () => {
    const claims = { sub: '7', iat: now, exp: now + 60 }
    const cases: [string, string][] = [
      ['expired', await signed({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: now })],
      ['expiry not a number', await signed({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: String(now + 60) })],
      ['not yet valid', await signed({ alg: 'HS256', typ: 'JWT' }, { ...claims, nbf: now + 60 })],
      ['issued in the future', await signed({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now + 60 })],
      ['another type', await signed({ alg: 'HS256', typ: 'JWS' }, claims)],
      ['a critical header', await signed({ alg: 'HS256', typ: 'JWT', crit: ['b64'] }, claims)],
      ['another algorithm named', await signed({ alg: 'HS512', typ: 'JWT' }, claims)],
      ['a payload that is not an object', await signed({ alg: 'HS256', typ: 'JWT' }, [claims])],
      ['another key', await sign(claims, 'another-secret-of-at-least-32-characters', 'HS256')],
      ['a signature that is not base64url', `${(await sign(claims, SECRET, 'HS256')).slice(0, -2)}+/`],
      ['four parts', `${await sign(claims, SECRET, 'HS256')}.x`],
      ['a header that is not JSON', `e30x.${part(claims)}.x`],
      ['a version that is not a count', await signed({ alg: 'HS256', typ: 'JWT' }, { ...claims, ver: '1' })],
      ['a negative version', await signed({ alg: 'HS256', typ: 'JWT' }, { ...claims, ver: -1 })],
      ['a fractional version', await signed({ alg: 'HS256', typ: 'JWT' }, { ...claims, ver: 1.5 })],
    ]
    for (const [what, token] of cases) assert.equal(await verifyToken(token, SECRET), undefined, what)
  })
})
