/**
 * The load tool's remote target: a deployed API (or any server of the users API). The caller
 * is a token given, or one got by signing in once; cold starts and inits are what the
 * functions say on their first answers.
 */
import { ConfigError } from '../../config.ts'
import { pgStatActivity, type ConnectionCounter } from './connections.ts'
import type { LoadOptions } from './options.ts'

export interface RemoteTarget {
  readonly url: string
  readonly description: string
  readonly headers: Record<string, string>
  readonly paths: readonly string[]
  readonly connections: ConnectionCounter | undefined
  close(): Promise<void>
}

/** The user id a token names (its `sub`), read without checking it: the server does that. */
export function tokenSubject(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown }
    return typeof payload.sub === 'string' && /^[1-9]\d{0,15}$/.test(payload.sub) ? Number(payload.sub) : undefined
  } catch {
    return undefined
  }
}

async function request(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) })
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause
    const reason = cause?.code ?? cause?.message ?? (error as Error).message
    throw new ConfigError('--url', `cannot reach ${new URL(url).origin}: ${reason}`)
  }
}

async function signIn(url: string, username: string, password: string): Promise<string> {
  const response = await request(`${url}/auth/token`, { method: 'POST', body: new URLSearchParams({ username, password }) })
  if (response.status !== 200) throw new ConfigError('--username', `signing in as ${username} was answered ${response.status}`)
  return ((await response.json()) as { access_token: string }).access_token
}

export async function startRemoteTarget(options: LoadOptions, say: (line: string) => void): Promise<RemoteTarget> {
  const url = options.url as string
  // Reachable before any load: /health is a function of its own, not one the load warms.
  const health = await request(`${url}/health`)
  await health.body?.cancel()
  say(`target    ${url} (GET /health ${health.status})`)
  const token = options.token ?? (await signIn(url, options.username as string, options.password as string))
  const id = tokenSubject(token)
  const paths = options.paths ?? ['/users/me', ...(id === undefined ? [] : [`/users/${id}`]), '/users?page=1']
  let connections: ConnectionCounter | undefined
  if (options.databaseUrl !== undefined) {
    try {
      connections = await pgStatActivity(options.databaseUrl)
    } catch (error) {
      throw new ConfigError('--database-url', `cannot connect: ${(error as Error).message}`)
    }
  }
  say(`database  ${connections ? 'connections sampled from pg_stat_activity' : 'not sampled (no --database-url)'}`)
  return {
    url,
    description: url,
    headers: { authorization: `Bearer ${token}` },
    paths,
    connections,
    close: async () => connections?.close(),
  }
}
