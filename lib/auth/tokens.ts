/**
 * Access tokens: JWTs (RFC 7519) signed with HMAC-SHA256 by `node:crypto`, which Lambda's
 * Node and workerd (`nodejs_compat`) both have: a synchronous HMAC costs ~3 us, where Web
 * Crypto's `verify` hands each one to a thread pool and back (~15-30 us, and more CPU). The
 * algorithm is pinned when verifying: a token whose header names another algorithm, `none`
 * included, is refused before its signature is looked at. A token names its user (`sub`), its
 * expiry, and the user's token version when it was issued (`ver`). Rights are not in it but
 * read with the user on every request, in the same statement as the version: a change of
 * password, role or active state moves the version on (lib/users/repository.ts), so every
 * token issued before it is refused from then on, at no extra round trip. A token without
 * `ver` (issued before versions existed) is version 0.
 *
 * The JWT is written here rather than with hono/jwt, whose tokens it reads and writes alike
 * (tests sign with hono/jwt): one algorithm is a few dozen lines, where hono/jwt brings every
 * algorithm and key format (~8 KB) into each function's bundle.
 */
import { Buffer } from 'node:buffer'
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'

export const TOKEN_ALGORITHM = 'HS256'

/** Whom a token is for: the user, and their token version when it was issued. */
export interface TokenSubject {
  readonly id: number
  readonly version: number
}

export interface IssuedToken {
  readonly accessToken: string
  readonly expiresIn: number
}

/** The key of the last secret used: a function has one secret, made a key once. */
let keyOf: { readonly secret: string; readonly key: KeyObject } | undefined

function hmac(secret: string, signed: string): Buffer {
  if (keyOf?.secret !== secret) keyOf = { secret, key: createSecretKey(Buffer.from(secret, 'utf8')) }
  return createHmac('sha256', keyOf.key).update(signed).digest()
}

const jsonPart = (value: object) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')

/** A JSON object from a token's part, or undefined for anything else. */
function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** `JWT` or `application/jwt`, in any case, as RFC 7519 §5.1 allows; absent is fine too. */
function isJwtType(typ: unknown): boolean {
  return typ === undefined || (typeof typ === 'string' && /^(application\/)?jwt$/i.test(typ))
}

export async function issueToken(subject: TokenSubject, secret: string, ttlSeconds: number, nowMs = Date.now()): Promise<IssuedToken> {
  const now = Math.floor(nowMs / 1000)
  const claims = { sub: String(subject.id), ver: subject.version, iat: now, exp: now + ttlSeconds }
  const signed = `${jsonPart({ alg: TOKEN_ALGORITHM, typ: 'JWT' })}.${jsonPart(claims)}`
  return { accessToken: `${signed}.${hmac(secret, signed).toString('base64url')}`, expiresIn: ttlSeconds }
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)

const isVersion = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0

/** Whom a token was issued to, or undefined for any token that is not good now. */
export async function verifyToken(token: string, secret: string, nowMs = Date.now()): Promise<TokenSubject | undefined> {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
  const header = decodePart(headerPart)
  const payload = decodePart(payloadPart)
  if (header?.alg !== TOKEN_ALGORITHM || !isJwtType(header.typ) || 'crit' in header || payload === undefined) return undefined
  const now = Math.floor(nowMs / 1000)
  // A token without expiry is not ours; one not yet valid, or issued in the future, is refused.
  if (!isTime(payload.exp) || payload.exp <= now) return undefined
  if (payload.nbf !== undefined && !(isTime(payload.nbf) && payload.nbf <= now)) return undefined
  if (payload.iat !== undefined && !(isTime(payload.iat) && payload.iat <= now)) return undefined
  const version = payload.ver ?? 0
  if (!isVersion(version)) return undefined
  if (!/^[\w-]+$/.test(signaturePart)) return undefined
  const signature = Buffer.from(signaturePart, 'base64url')
  // Compared in constant time.
  const expected = hmac(secret, `${headerPart}.${payloadPart}`)
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined
  const id = typeof payload.sub === 'string' && /^[1-9]\d{0,18}$/.test(payload.sub) ? Number(payload.sub) : undefined
  return id !== undefined && Number.isSafeInteger(id) ? { id, version } : undefined
}
