import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { health } from '../support/routes.ts'
import { edgeWorker } from '../../lib/edge/worker.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { functionEnv, startTestDatabase } from '../support/database.ts'
import { invoke } from '../support/invoke.ts'

describe('GET /health as a Lambda function', () => {
  let database: DevDatabase
  let fn: LambdaFunction

  before(async () => {
    database = await startTestDatabase()
    Object.assign(process.env, functionEnv(database))
    fn = await import('../../functions/health/get.ts')
  })

  after(async () => {
    await fn?.shutdown()
    await database?.close()
  })

  it('answers 200 {"status":"ok"} when the database answers', async () => {
    const response = await invoke(fn.handler, { method: 'GET', route: '/health', path: '/health' })
    assert.equal(response.status, 200)
    assert.deepEqual(response.json(), { status: 'ok' })
  })

  it('answers 200 {"status":"degraded"} when the database cannot be reached', async () => {
    // Port 1 on loopback: nothing listens there, so every connection is refused.
    const down = await lambdaFunction(health, {
      env: { ...functionEnv(database), DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres' },
    })
    try {
      const response = await invoke(down.handler, { method: 'GET', route: '/health', path: '/health' })
      assert.equal(response.status, 200)
      assert.deepEqual(response.json(), { status: 'degraded' })
    } finally {
      await down.shutdown()
    }
  })

  it('on the edge, says x-cold-start on the isolate\'s first answer only, though each request gets an app', async () => {
    const worker = edgeWorker([health])
    const pending: Promise<unknown>[] = []
    const ctx = { waitUntil: (work: Promise<unknown>) => void pending.push(work), passThroughOnException: () => undefined, props: {} }
    const cold: (string | null)[] = []
    for (let i = 0; i < 3; i++) {
      const response = await worker.fetch(new Request('http://edge.local/health'), functionEnv(database), ctx)
      assert.equal(response.status, 200)
      cold.push(response.headers.get('x-cold-start'))
    }
    await Promise.all(pending)
    assert.deepEqual(cold, ['1', null, null])
  })
})
