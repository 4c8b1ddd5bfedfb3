// The users API contract against the Workers build: `npm run build`'s worker bundle run by
// workerd (through miniflare), reaching the test database through the local WebSocket proxy.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Miniflare } from 'miniflare'
import { buildWorker } from '../../lib/dev/build.ts'
import { after, before, describe, it } from 'node:test'
import type { WireCount } from '../../lib/dev/ws-proxy.ts'
import { bearer, createUser } from '../support/auth.ts'
import { connectionsClosed, functionEnv, startTestDatabase } from '../support/database.ts'
import { httpCaller } from '../support/gateway.ts'
import { usersContract } from './contract.ts'

/** The worker bundle and a database, with workerd running one on the other. */
async function startWorker() {
  mkdirSync(join(process.cwd(), '.data'), { recursive: true })
  const out = mkdtempSync(join(process.cwd(), '.data', 'worker-'))
  const { file } = await buildWorker(out)
  const database = await startTestDatabase()
  const mf = new Miniflare({
    modules: true,
    scriptPath: file,
    compatibilityDate: '2025-09-01',
    compatibilityFlags: ['nodejs_compat'],
    bindings: functionEnv(database),
  })
  const dispatch = (url: URL, init: RequestInit) => mf.dispatchFetch(url, init as Parameters<typeof mf.dispatchFetch>[1]) as unknown as Promise<Response>
  return {
    database,
    call: httpCaller('http://worker.local', dispatch),
    async close() {
      await mf.dispose()
      await database.close()
      rmSync(out, { recursive: true, force: true })
    },
  }
}

usersContract('in workerd (the edge worker)', async () => {
  const worker = await startWorker()
  return { ...worker, admin: await createUser(worker.database.url, { prefix: 'root', role: 'super_admin' }) }
})

describe('in workerd, the transport', () => {
  let worker: Awaited<ReturnType<typeof startWorker>>

  before(async () => {
    worker = await startWorker()
  })

  after(() => worker.close())

  it('sends a statement as one WebSocket message, as on Node', async () => {
    const user = await createUser(worker.database.url, { prefix: 'edge_wire' })
    const wire = worker.database.wire as Readonly<WireCount>
    await connectionsClosed(wire) // createUser's connection
    const sent = { ...wire }
    const answer = await worker.call('GET', '/users/me', { headers: await bearer(user.id) })
    assert.equal(answer.status, 200)
    await connectionsClosed(wire) // the worker's, ended after the response
    // The worker connects for its request: a startup message, the caller's read, a Terminate.
    // The driver's writes sent one by one would be 5 or more messages for the statement alone.
    assert.deepEqual({ messages: wire.messages - sent.messages, statements: wire.statements - sent.statements }, { messages: 3, statements: 1 })
  })
})
