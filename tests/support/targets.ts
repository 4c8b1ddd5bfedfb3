/**
 * The users API as a test reaches it, with a super_admin of its own: through the Lambda
 * handlers (tests/support/gateway.ts) on a database the test opened, or over HTTP against
 * `npm run dev` (a child process) on DATABASE_URL's server or an embedded PGlite in a folder
 * of its own.
 */
import type { DevDatabase } from '../../lib/dev/database.ts'
import { createUser } from './auth.ts'
import { functionEnv } from './database.ts'
import { startOwnDev } from './dev-server.ts'
import { httpCaller, startGateway, type Call } from './gateway.ts'

export interface ApiTarget {
  readonly call: Call
  /** A super_admin's username and password. */
  readonly admin: { readonly username: string; readonly password: string }
  close(): Promise<void>
}

/** Through the Lambda handlers, on `database` (closed with the target). */
export async function lambdaTarget(database: DevDatabase): Promise<ApiTarget> {
  const admin = await createUser(database.url, { prefix: 'root', role: 'super_admin' })
  const gateway = await startGateway(functionEnv(database))
  return {
    call: gateway.call,
    admin,
    async close() {
      await gateway.close()
      await database.close()
    },
  }
}

/** Over HTTP against the dev server, on `databaseUrl` or its embedded PGlite; `cleanUp` runs after it stops. */
export async function devServerTarget(databaseUrl: string | undefined, cleanUp?: () => Promise<void>): Promise<ApiTarget> {
  const dev = await startOwnDev(databaseUrl)
  return {
    call: httpCaller(dev.running.api),
    admin: dev.admin,
    async close() {
      await dev.stop()
      await cleanUp?.()
    },
  }
}
