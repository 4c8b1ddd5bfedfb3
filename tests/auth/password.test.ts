import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hashPassword, verifyPassword } from '../../lib/auth/password.ts'

describe('password hashing', () => {
  it('stores scrypt in PHC form with a fresh salt each time', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse'), hashPassword('correct horse')])
    assert.match(a, /^\$scrypt\$ln=15,r=8,p=3\$[\w-]{22}\$[\w-]{43}$/)
    assert.notEqual(a, b)
  })

  it('verifies the right password and refuses a wrong one or a malformed hash', async () => {
    const stored = await hashPassword('correct horse')
    assert.equal(await verifyPassword('correct horse', stored), true)
    assert.equal(await verifyPassword('correct horsE', stored), false)
    assert.equal(await verifyPassword('correct horse', 'plaintext'), false)
  })
})
