/**
 * Routes served by a Lambda handler whose database is behind a fault proxy (the test cuts it
 * off with `fault.setMode()`), with seeded users and a super_admin's token.
 */
import type { Hono } from 'hono'
import type { DevDatabase } from '../../lib/dev/database.ts'
import type { FaultProxy } from '../../lib/dev/fault-proxy.ts'
import { behindFaultProxies, type FaultyPaths } from '../../lib/dev/faults.ts'
import type { AppEnv } from '../../lib/http/env.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { bearer, createUser } from './auth.ts'
import { seedUsers, startTestDatabase, TEST_JWT_SECRET } from './database.ts'

export interface FaultyFunction {
  readonly fn: LambdaFunction
  readonly fault: FaultProxy
  /** The ids of the users seeded, in order. */
  readonly ids: number[]
  /** A super_admin's Authorization header. */
  readonly headers: Record<string, string>
  /** The function's environment: another instance of it is `lambdaFunction(routes, { env })`. */
  readonly env: Record<string, string>
  close(): Promise<void>
}

/** `routes` in one handler, on a new test database behind a fault proxy; `env` adds settings. */
export async function faultyFunction(routes: Hono<AppEnv> | Hono<AppEnv>[], seeds: readonly string[], env: Record<string, string> = {}): Promise<FaultyFunction> {
  const database: DevDatabase = await startTestDatabase()
  let paths: FaultyPaths | undefined
  try {
    paths = await behindFaultProxies(database)
    const [fault] = paths.proxies as [FaultProxy]
    const ids = await seedUsers(database.url, seeds)
    const headers = await bearer((await createUser(database.url, { prefix: 'admin', role: 'super_admin' })).id)
    const functionEnv = { JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: paths.urlThrough(fault), DATABASE_WS_PROXY: paths.ws.address, ...env }
    const fn = await lambdaFunction(routes, { env: functionEnv })
    const opened = paths
    return {
      fn,
      fault,
      ids,
      headers,
      env: functionEnv,
      async close() {
        fault.setMode('forward')
        await fn.shutdown()
        await opened.close()
        await database.close()
      },
    }
  } catch (error) {
    await paths?.close()
    await database.close()
    throw error
  }
}
