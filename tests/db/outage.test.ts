/**
 * The database unreachable in the middle of a run (a partition: every packet to it lost), and
 * back: reads degrade to stale answers or 503, nothing hangs, and fresh answers resume on the
 * same instance once it answers again.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FaultProxy } from '../../lib/dev/fault-proxy.ts'
import type { LambdaFunction } from '../../lib/http/lambda.ts'
import { getUser } from '../support/routes.ts'
import { faultyFunction, type FaultyFunction } from '../support/faulty.ts'
import { invoke } from '../support/invoke.ts'
import { captureLogs } from '../support/logs.ts'

describe('the database unreachable mid-run', () => {
  let faulty: FaultyFunction
  let fault: FaultProxy
  let fn: LambdaFunction
  let ids: number[] = []
  let headers: Record<string, string>

  before(async () => {
    faulty = await faultyFunction(getUser, ['seen', 'unseen'], {
      DATABASE_CONNECT_TIMEOUT_MS: '300',
      DATABASE_QUERY_TIMEOUT_MS: '500',
      DATABASE_RETRY_ATTEMPTS: '3',
      DATABASE_BREAKER_THRESHOLD: '3',
      DATABASE_BREAKER_COOLDOWN_MS: '500',
    })
    ;({ fault, fn, ids, headers } = faulty)
  })
  after(async () => {
    await faulty?.close()
  })

  const read = (id: number) => invoke(fn.handler, { method: 'GET', route: '/users/{id}', path: `/users/${id}`, headers })

  it('degrades while the database is cut off, and answers fresh again when it is back', async () => {
    const fresh = await read(ids[0] as number)
    assert.equal(fresh.status, 200)

    const logs = captureLogs()
    fault.setMode('blackhole')
    try {
      for (let i = 0; i < 3; i++) {
        const started = Date.now()
        const stale = await read(ids[0] as number)
        const took = Date.now() - started
        assert.equal(stale.status, 200, `stale answer ${i}`)
        assert.equal(stale.body, fresh.body)
        assert.ok(stale.headers['cache-status']?.startsWith('users-api; hit; ttl='))
        assert.ok(took < 9_000, `answered inside the 10 s deadline (took ${took} ms)`)
        const unseen = await read(ids[1] as number)
        assert.equal(unseen.status, 503)
        assert.ok(unseen.headers['retry-after'])
      }
    } finally {
      fault.setMode('forward')
      logs.restore()
    }
    assert.ok(logs.entries.some((entry) => entry.message === 'database circuit breaker' && entry.state === 'Open'), 'the breaker opened')

    // Back: after the breaker's cool-down a probe goes through and answers are fresh again.
    let again = await read(ids[1] as number)
    for (let i = 0; i < 20 && again.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      again = await read(ids[1] as number)
    }
    assert.equal(again.status, 200, 'fresh answers resume on the same instance')
    assert.equal(again.headers.age, undefined)
  })
})
