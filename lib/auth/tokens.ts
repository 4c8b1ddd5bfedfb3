/**
 * Access tokens: JWTs signed with HMAC-SHA256 (hono's JWT utilities, on Web Crypto, so the
 * same code runs on Lambda and on the edge). The algorithm is pinned when verifying: a token
 * whose header names another algorithm, `none` included, is refused before its signature is
 * looked at. A token names its user (`sub`) and its expiry; rights are not in it but read
 * with the user on every request, so a role change, a deactivation or a deletion takes effect
 * at once.
 */
import { sign, verify } from 'hono/jwt'

export const TOKEN_ALGORITHM = 'HS256'

export interface IssuedToken {
  readonly accessToken: string
  readonly expiresIn: number
}

export async function issueToken(userId: number, secret: string, ttlSeconds: number, nowMs = Date.now()): Promise<IssuedToken> {
  const now = Math.floor(nowMs / 1000)
  const accessToken = await sign({ sub: String(userId), iat: now, exp: now + ttlSeconds }, secret, TOKEN_ALGORITHM)
  return { accessToken, expiresIn: ttlSeconds }
}

/** The user id a token was issued to, or undefined for any token that is not good now. */
export async function verifyToken(token: string, secret: string): Promise<number | undefined> {
  try {
    const payload = await verify(token, secret, TOKEN_ALGORITHM)
    if (typeof payload.exp !== 'number') return undefined // a token without expiry is not ours
    const id = typeof payload.sub === 'string' && /^[1-9]\d{0,18}$/.test(payload.sub) ? Number(payload.sub) : undefined
    return id !== undefined && Number.isSafeInteger(id) ? id : undefined
  } catch {
    return undefined
  }
}
