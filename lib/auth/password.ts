/**
 * Password hashing with scrypt (RFC 7914) at one of OWASP's recommended settings
 * (N=2^15, r=8, p=3: 32 MiB per hash), stored in the PHC string format
 * `$scrypt$ln=15,r=8,p=3$<salt>$<hash>` so that the cost can be raised later and old
 * hashes still verify.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const COST = { ln: 15, r: 8, p: 3 } as const
const KEY_LENGTH = 32
const SALT_LENGTH = 16

function derive(password: string, salt: Buffer, cost: { ln: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** cost.ln
  const options: ScryptOptions = { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r }
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key)))
  })
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH)
  const key = await derive(password, salt, COST)
  return `$scrypt$ln=${COST.ln},r=${COST.r},p=${COST.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([\w-]+)\$([\w-]+)$/

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = PHC.exec(stored)
  if (!match) return false
  const [, ln, r, p, salt, hash] = match as unknown as [string, string, string, string, string, string]
  const expected = Buffer.from(hash, 'base64url')
  const actual = await derive(password, Buffer.from(salt, 'base64url'), { ln: Number(ln), r: Number(r), p: Number(p) })
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/**
 * A hash of no one's password (random bytes, at the current cost), checked when a login names
 * an unknown user, so that it takes as long as a wrong password for a real one.
 */
export const DUMMY_PASSWORD_HASH = `$scrypt$ln=${COST.ln},r=${COST.r},p=${COST.p}$5WbK-pImq9vZxLoC9O8o8g$A08qoiXf57l8RP5iUFyOib3tZuFcgxFFyEMKKJl1kvM`
