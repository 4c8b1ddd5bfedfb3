// The users API contract against the Workers build: `npm run build`'s worker bundle run by
// workerd (through miniflare), reaching the test database through the local WebSocket proxy.
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Miniflare } from 'miniflare'
import { buildWorker } from '../../lib/dev/build.ts'
import { createUser } from '../support/auth.ts'
import { functionEnv, startTestDatabase } from '../support/database.ts'
import { httpCaller } from '../support/gateway.ts'
import { usersContract } from './contract.ts'

usersContract('in workerd (the edge worker)', async () => {
  const out = mkdtempSync(join(process.cwd(), '.data', 'worker-'))
  const { file } = await buildWorker(out)
  const database = await startTestDatabase()
  const admin = await createUser(database.url, { prefix: 'root', role: 'super_admin' })
  const mf = new Miniflare({
    modules: true,
    scriptPath: file,
    compatibilityDate: '2025-09-01',
    compatibilityFlags: ['nodejs_compat'],
    bindings: functionEnv(database),
  })
  const dispatch = (url: URL, init: RequestInit) => mf.dispatchFetch(url, init as Parameters<typeof mf.dispatchFetch>[1]) as unknown as Promise<Response>
  return {
    call: httpCaller('http://worker.local', dispatch),
    admin,
    async close() {
      await mf.dispose()
      await database.close()
      rmSync(out, { recursive: true, force: true })
    },
  }
})
