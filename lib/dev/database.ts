/**
 * The database of local development and tests: the embedded PGlite, or a server named by
 * DATABASE_URL. Either way the functions reach it as they reach Neon in production — the
 * Neon driver over a WebSocket — through the local proxy of `ws-proxy.ts`.
 */
import { connect } from 'node:net'
import { Client } from '@neondatabase/serverless'
import { ConfigError } from '../config.ts'
import { configureDriver, type DriverSettings } from '../db/driver.ts'
import { isNeonHost } from '../db/urls.ts'
import { cannotListen } from './cli.ts'
import { startWsProxy, type WireCount, type WsProxy } from './ws-proxy.ts'
import { lockDataDir } from './pglite-lock.ts'
import { startPgliteServer, type PgliteServer } from './pglite-server.ts'

export interface DevDatabaseOptions {
  /** An external server; undefined starts the embedded PGlite. */
  readonly databaseUrl: string | undefined
  /** PGlite's data folder, or `memory://` for a throw-away database. */
  readonly dataDir: string
  /** Port of PGlite's Postgres socket; 0 picks a free one. */
  readonly pglitePort: number
  /** Port of the Neon WebSocket proxy; 0 (the default) picks a free one. */
  readonly wsProxyPort?: number
}

export interface DevDatabase {
  /** Connection string for the Neon driver (and any Postgres client). */
  readonly url: string
  readonly driver: DriverSettings
  readonly embedded: boolean
  /** Human-readable lines saying what was started, for the dev server to print. */
  readonly summary: readonly string[]
  /** What the functions have sent through the local proxy (none with Neon's own). */
  readonly wire?: Readonly<WireCount>
  close(): Promise<void>
}

const CONNECT_TIMEOUT_MS = 5_000

/** The environment a deployed function would be given to reach this database. */
export function functionEnv(database: DevDatabase): Record<string, string> {
  return database.driver.mode === 'local'
    ? { DATABASE_URL: database.url, DATABASE_WS_PROXY: database.driver.wsProxy }
    : { DATABASE_URL: database.url }
}

export async function openDevDatabase(options: DevDatabaseOptions): Promise<DevDatabase> {
  const database = options.databaseUrl === undefined ? await startEmbedded(options) : await useServer(options.databaseUrl, options.wsProxyPort ?? 0)
  try {
    await configureDriver(database.driver)
    await checkConnection(database.url)
    return database
  } catch (error) {
    await database.close()
    throw error
  }
}

async function useServer(databaseUrl: string, wsProxyPort: number): Promise<DevDatabase> {
  const url = new URL(databaseUrl)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port || 5432)
  await checkReachable(host, port)
  const where = `${host}:${port}${url.pathname}`
  if (isNeonHost(host)) {
    return {
      url: databaseUrl,
      driver: { mode: 'neon' },
      embedded: false,
      summary: [`database  ${where} (Neon, over its own secure WebSocket proxy)`],
      close: async () => undefined,
    }
  }
  const proxy = await startProxy(`${host}:${port}`, wsProxyPort)
  return {
    url: databaseUrl,
    driver: { mode: 'local', wsProxy: proxy.address },
    embedded: false,
    summary: [`database  ${where} (DATABASE_URL)`, `proxy     Neon WebSocket proxy on ${proxy.address} -> ${host}:${port}`],
    wire: proxy.wire,
    close: () => proxy.close(),
  }
}

async function startEmbedded(options: DevDatabaseOptions): Promise<DevDatabase> {
  const inMemory = options.dataDir.startsWith('memory://')
  const unlock = inMemory ? () => undefined : lockDataDir(options.dataDir)
  let proxy: WsProxy | undefined
  const stops: (() => Promise<void> | void)[] = [unlock]
  const close = async () => {
    for (const stop of stops.reverse()) await stop()
    stops.length = 0
  }
  try {
    // PGlite is a development tool: loaded only here, never bundled into a function.
    const [{ PGlite }, { pg_trgm }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite/contrib/pg_trgm'),
    ])
    const db = await PGlite.create({ dataDir: options.dataDir, extensions: { pg_trgm } })
    stops.push(() => db.close())
    let server: PgliteServer
    try {
      server = await startPgliteServer({ db, host: '127.0.0.1', port: options.pglitePort })
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw new ConfigError('PGLITE_PORT', `cannot listen on 127.0.0.1:${options.pglitePort} (${code ?? String(error)})`)
    }
    stops.push(() => server.close())
    const address = server.address
    proxy = await startProxy(address, options.wsProxyPort ?? 0)
    stops.push(() => proxy?.close())
    const url = `postgres://postgres@${address}/postgres`
    return {
      url,
      driver: { mode: 'local', wsProxy: proxy.address },
      embedded: true,
      summary: [
        `database  PGlite (embedded) ${inMemory ? 'in memory' : `in ${options.dataDir}`}, Postgres protocol on ${address}`,
        `          psql "${url}"`,
        `proxy     Neon WebSocket proxy on ${proxy.address} -> ${address}`,
      ],
      wire: proxy.wire,
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

async function startProxy(target: string, port: number): Promise<WsProxy> {
  try {
    return await startWsProxy({ allow: [target], port })
  } catch (error) {
    throw cannotListen('WS_PROXY_PORT', port, error)
  }
}

function checkReachable(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: CONNECT_TIMEOUT_MS })
    const fail = (reason: string) => {
      socket.destroy()
      reject(new ConfigError('DATABASE_URL', `cannot reach the database at ${host}:${port} (${reason})`))
    }
    socket.once('connect', () => {
      socket.end()
      resolve()
    })
    socket.once('timeout', () => fail(`no answer in ${CONNECT_TIMEOUT_MS / 1000}s`))
    socket.once('error', (error: NodeJS.ErrnoException) => fail(describeNetworkError(error)))
  })
}

function describeNetworkError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused: is PostgreSQL running?'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable'
    default:
      return error.code ?? error.message
  }
}

/** Logs in once, so that a wrong password or database name is reported at start. */
async function checkConnection(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS })
  try {
    await client.connect()
    await client.query('SELECT 1')
  } catch (error) {
    const message = error instanceof Error ? error.message : 'connection failed'
    throw new ConfigError('DATABASE_URL', `cannot connect: ${message}`)
  } finally {
    await client.end().catch(() => undefined)
  }
}
