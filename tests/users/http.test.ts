// The users API contract over HTTP against `npm run dev` (a child process), on a data folder
// of its own, or on DATABASE_URL's server when that is set.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { externalUrl, uniqueName } from '../support/database.ts'
import { startDev, stopDev } from '../support/dev-server.ts'
import { httpCaller } from '../support/gateway.ts'
import { usersContract } from './contract.ts'

usersContract('over HTTP against the dev server', async () => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'users-http-'))
  const admin = { username: uniqueName('root').replace(/_/g, '.'), password: 'the root password' }
  const running = await startDev({
    DATABASE_URL: externalUrl,
    PGLITE_DATA_DIR: join(dataRoot, 'pglite'),
    ADMIN_USERNAME: admin.username,
    ADMIN_PASSWORD: admin.password,
  })
  return {
    call: httpCaller(running.api),
    admin,
    async close() {
      await stopDev(running)
      rmSync(dataRoot, { recursive: true, force: true })
    },
  }
})
