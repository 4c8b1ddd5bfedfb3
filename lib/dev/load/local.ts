/**
 * The load tool's local target: every function of the manifest built and run in the Lambda
 * emulator (a process per instance, cold starts, one request per instance), on a throw-away
 * embedded PGlite or on DATABASE_URL, reached through a fault proxy so that the fault scenario
 * can cut the database off. The functions connect with an `application_name` of this run, so
 * that their connections are told apart in `pg_stat_activity` from anyone else's; with a
 * connection limit, they connect as a role of this run that PostgreSQL limits.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { issueToken } from '../../auth/tokens.ts'
import { ConfigError, readDevConfig } from '../../config.ts'
import { createPool, type Pool } from '../../db/pool.ts'
import { seedUsers } from '../../users/seed.ts'
import type { StopStep } from '../cli.ts'
import { startEmulator, type Emulator } from '../emulator/emulator.ts'
import { buildManifestFunctions } from '../emulator/manifest.ts'
import type { FaultProxy } from '../fault-proxy.ts'
import { behindFaultProxies, type FaultyPaths } from '../faults.ts'
import { setUpDevDatabase } from '../setup.ts'
import { pgStatActivity, type ConnectionCounter } from './connections.ts'
import type { Fault } from './options.ts'

export interface LocalTargetOptions {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly poolMax: number
  readonly concurrency: number
  readonly connectionLimit: number | undefined
  /** Each function's timeout in seconds; undefined: the deployed one. */
  readonly functionTimeoutSeconds: number | undefined
  /** The functions' own settings that the run changes (LoadOptions.functionSettings). */
  readonly functionSettings: Readonly<Record<string, string>>
  /** Where the functions' output (REPORT lines, request lines) goes. */
  readonly log: (line: string) => void
  /** Progress of the setup, a line at a time. */
  readonly say: (line: string) => void
}

export interface LocalTarget {
  readonly url: string
  readonly description: string
  readonly headers: Record<string, string>
  readonly paths: string[]
  readonly connections: ConnectionCounter
  readonly emulator: Emulator
  /** Cuts the database off the way the fault says, or puts it back. */
  setFault(mode: Fault['mode'] | 'forward'): void
  close(): Promise<void>
}

const BUILD_DIR = '.data/load-build'
const EMBEDDED_USERS = 200

/** The read requests of the users API, interleaved so that each function gets its share. */
export function usersPaths(ids: readonly number[]): string[] {
  const paths: string[] = []
  for (let i = 0; i < Math.max(1, ids.length); i++) {
    paths.push('/users/me')
    if (ids.length > 0) paths.push(`/users/${ids[i]}`)
    paths.push(`/users?page=${(i % 4) + 1}`)
  }
  return paths
}

/** A super_admin to send the load as, when none is configured: the first there is. */
async function anySuperAdmin(pool: Pool): Promise<number> {
  const { rows } = await pool.query(`SELECT id FROM users WHERE role = 'super_admin' AND is_active ORDER BY id LIMIT 1`)
  if (rows[0] === undefined) throw new ConfigError('ADMIN_USERNAME', 'no active super_admin in the database: set ADMIN_USERNAME and ADMIN_PASSWORD and one is made')
  return Number(rows[0].id)
}

/** The caller's token version: a token of an older one is refused (lib/auth/tokens.ts). */
async function tokenVersionOf(pool: Pool, id: number): Promise<number> {
  const { rows } = await pool.query('SELECT token_version FROM users WHERE id = $1', [id])
  return Number(rows[0]?.token_version ?? 0)
}

/** A role of this run limited to `limit` connections, with the rights the functions use. */
async function limitedRole(pool: Pool, limit: number): Promise<{ name: string; password: string; drop(): Promise<void> }> {
  const name = `users_api_load_${process.pid}`
  const password = randomBytes(18).toString('base64url')
  try {
    await pool.query(`CREATE ROLE ${name} LOGIN NOSUPERUSER PASSWORD '${password}' CONNECTION LIMIT ${limit}`)
  } catch (error) {
    throw new ConfigError('--db-connection-limit', `cannot create a limited role: ${(error as Error).message}`)
  }
  await pool.query(`GRANT USAGE ON SCHEMA public TO ${name}`)
  await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${name}`)
  await pool.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${name}`)
  return {
    name,
    password,
    // What was granted is revoked by its grantor (DROP OWNED BY needs more than CREATEROLE).
    async drop() {
      await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [name])
      await pool.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${name}`)
      await pool.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${name}`)
      await pool.query(`REVOKE ALL ON SCHEMA public FROM ${name}`)
      await pool.query(`DROP ROLE ${name}`)
    },
  }
}

export async function startLocalTarget(options: LocalTargetOptions): Promise<LocalTarget> {
  // The dev servers' setup (open, migrate, the configured super_admin, the token key) on a
  // throw-away embedded database, so that nothing holds the dev server's data folder.
  const config = { ...readDevConfig(options.env), pglite: { dataDir: 'memory://', port: 0 } }
  const stops: StopStep[] = []
  // Every step runs, even after one fails (the role is dropped though the pool would not
  // close); the first failure is thrown at the end.
  const close = async () => {
    let failure: unknown
    for (const stop of stops.reverse()) {
      try {
        await stop()
      } catch (error) {
        failure ??= error
      }
    }
    stops.length = 0
    if (failure !== undefined) throw failure
  }
  try {
    const setup = await setUpDevDatabase(config, stops)
    const { database } = setup
    if (database.driver.mode !== 'local') {
      throw new ConfigError('DATABASE_URL', 'the local load target puts a fault proxy before the database, which a Neon endpoint cannot sit behind: deploy and use --url')
    }
    const pool = createPool({ url: database.url, max: 1 })
    stops.push(() => pool.end())
    if (database.embedded) options.say(`seed      ${await seedUsers(pool, EMBEDDED_USERS)} users`)
    const callerId = setup.adminId ?? (await anySuperAdmin(pool))
    const { rows } = await pool.query(`SELECT id FROM users WHERE is_active ORDER BY id LIMIT 20`)
    const ids = rows.map((row: { id: string | number }) => Number(row.id))

    const paths: FaultyPaths = await behindFaultProxies(database)
    stops.push(() => paths.close())
    const fault = paths.proxies[0] as FaultProxy
    const applicationName = `users-api-load-${process.pid}`
    const functionUrl = new URL(paths.urlThrough(fault))
    functionUrl.searchParams.set('application_name', applicationName)
    if (options.connectionLimit !== undefined) {
      if (database.embedded) {
        throw new ConfigError('--db-connection-limit', 'needs a PostgreSQL server (set DATABASE_URL): the embedded PGlite serves every connection from one backend')
      }
      const role = await limitedRole(pool, options.connectionLimit)
      stops.push(() => role.drop())
      functionUrl.username = role.name
      functionUrl.password = role.password
      options.say(`limit     functions connect as ${role.name}, CONNECTION LIMIT ${options.connectionLimit}`)
    }

    const connections = database.embedded
      ? { source: 'fault proxy (PGlite serves every connection from one backend)', count: async () => fault.connections, close: async () => undefined }
      : await pgStatActivity(database.url, applicationName)
    stops.push(() => connections.close())

    mkdirSync(BUILD_DIR, { recursive: true })
    const built = await buildManifestFunctions(BUILD_DIR)
    const timeoutSeconds = options.functionTimeoutSeconds
    const functions = timeoutSeconds === undefined ? built : built.map((fn) => ({ ...fn, timeoutMs: timeoutSeconds * 1000 }))
    options.say(`build     ${functions.length} functions in ${BUILD_DIR}`)
    const jwtSecret = setup.env.JWT_SECRET as string
    const env: Record<string, string> = {
      PATH: options.env.PATH ?? '',
      DATABASE_URL: functionUrl.toString(),
      DATABASE_WS_PROXY: paths.ws.address,
      DATABASE_POOL_MAX: String(options.poolMax),
      JWT_SECRET: jwtSecret,
      ...(options.env.REDIS_URL ? { REDIS_URL: options.env.REDIS_URL } : {}),
      ...options.functionSettings,
    }
    // No instance is reaped during a run: every instance started is one the report counts.
    const emulator = await startEmulator({ functions, env, concurrency: options.concurrency, idleMs: 30 * 60_000, log: options.log })
    stops.push(() => emulator.close())
    const { accessToken } = await issueToken({ id: callerId, version: await tokenVersionOf(pool, callerId) }, jwtSecret, 3_600)
    options.say(`lambda    ${emulator.url}, ${options.concurrency} instances per function at most, ${options.poolMax} connections per instance${timeoutSeconds === undefined ? '' : `, ${timeoutSeconds} s timeout`}`)
    return {
      url: emulator.url,
      description: `local emulator, ${database.embedded ? 'PGlite' : 'PostgreSQL'}${options.connectionLimit === undefined ? '' : `, functions limited to ${options.connectionLimit} database connections`}`,
      headers: { authorization: `Bearer ${accessToken}` },
      paths: usersPaths(ids),
      connections,
      emulator,
      setFault(mode) {
        if (mode === 'sever') fault.sever()
        else if (mode === 'terminate') {
          // The server ends every session of the functions (an admin's kill, a failover's).
          pool.query('SELECT count(pg_terminate_backend(pid))::int AS ended FROM pg_stat_activity WHERE application_name = $1', [applicationName]).then(
            ({ rows }) => options.say(`fault     pg_terminate_backend ended ${(rows[0] as { ended: number }).ended} sessions`),
            (error: unknown) => options.say(`fault     pg_terminate_backend failed: ${error instanceof Error ? error.message : String(error)}`),
          )
        } else fault.setMode(mode)
      },
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}
