// The users API contract against the built functions in the local Lambda emulator (what
// `npm run dev:lambda` runs): every route its own bundle and its own instances, one request
// per instance at a time, events as API Gateway sends them.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { startEmulator } from '../../lib/dev/emulator/emulator.ts'
import { buildManifestFunctions } from '../../lib/dev/emulator/manifest.ts'
import { createUser } from '../support/auth.ts'
import { functionEnv, startTestDatabase } from '../support/database.ts'
import { httpCaller } from '../support/gateway.ts'
import { usersContract } from './contract.ts'

usersContract('in the Lambda emulator (the built functions)', async () => {
  mkdirSync(join(process.cwd(), '.data'), { recursive: true })
  const out = mkdtempSync(join(process.cwd(), '.data', 'emulated-'))
  const database = await startTestDatabase()
  const admin = await createUser(database.url, { prefix: 'root', role: 'super_admin' })
  const emulator = await startEmulator({
    functions: await buildManifestFunctions(out),
    env: { ...functionEnv(database), PATH: process.env.PATH ?? '' },
    // Two instances per function are enough for the contract's calls, one after another.
    concurrency: 2,
    log: () => undefined,
  })
  return {
    call: httpCaller(emulator.url),
    admin,
    async close() {
      await emulator.close()
      await database.close()
      rmSync(out, { recursive: true, force: true })
    },
  }
})
