/**
 * The shared (L2) tier of the stale cache: Redis, so that a freshly started instance, whose
 * own cache is empty, can still answer stale while the database is down; and of the sign-in
 * counters, so that every instance counts attempts together (lib/auth/throttle.ts). It is
 * optional (REDIS_URL) and best effort: every command has a short timeout, nothing is queued
 * while Redis is away, and a failure is logged and answered as a miss, never as an error.
 *
 * ioredis is imported only when REDIS_URL is set, so a function without Redis does not load it.
 */
import type { Env } from '../config.ts'
import { readCacheConfig } from '../config.ts'
import type { SharedStore } from '../http/stale-cache.ts'
import { log } from '../log.ts'

const CONNECT_TIMEOUT_MS = 1_000

export async function sharedStoreFromEnv(env: Env): Promise<SharedStore | undefined> {
  const { redisUrl, commandTimeoutMs, database } = readCacheConfig(env)
  if (redisUrl === undefined) return undefined
  // Keys name the database their values are of (a digest: no host names in Redis).
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(database)))
  const prefix = `users-api:${Array.from(digest.subarray(0, 8), (byte) => byte.toString(16).padStart(2, '0')).join('')}:`
  const ioredis = await import('ioredis')
  // ioredis is CommonJS: Node's loader gives the class as a named export, a bundle as the default.
  const Redis = ioredis.Redis ?? (ioredis as unknown as { default: typeof ioredis.Redis }).default
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: commandTimeoutMs,
    // Keep trying in the background, slowly; requests never wait for it.
    retryStrategy: (times: number) => Math.min(times * 200, 5_000),
  })
  let reported = false
  client.on('error', (error: Error) => {
    if (!reported) log('warn', 'shared cache unavailable', { error: error.message })
    reported = true
  })
  client.on('ready', () => {
    reported = false
  })
  // Connected during the instance's init (Lambda's init phase), so that its first request
  // finds Redis ready; one that does not answer by the connect timeout is left to connect in
  // the background.
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([
    client.connect().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CONNECT_TIMEOUT_MS)
    }),
  ])
  clearTimeout(timer)
  const guard = async <T>(what: string, command: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await command()
    } catch (error) {
      log('warn', 'shared cache command failed', { command: what, error: error instanceof Error ? error.message : String(error) })
      return undefined
    }
  }
  return {
    get: async (key) => (await guard('get', () => client.get(prefix + key))) ?? undefined,
    set: async (key, value, ttlMs) => {
      await guard('set', () => client.set(prefix + key, value, 'PX', ttlMs))
    },
    count: async (keys, windowMs, by = 1) => {
      // One round trip, one transaction: SET NX PX starts a window only where there is none
      // (on any Redis; PEXPIRE NX needs 7.0), INCRBY keeps it, PTTL says what is left of it.
      const multi = client.multi()
      for (const key of keys) multi.set(prefix + key, '0', 'PX', windowMs, 'NX').incrby(prefix + key, by).pttl(prefix + key)
      const replies = await guard('count', () => multi.exec())
      if (!replies || replies.some(([error]) => error !== null)) return undefined
      return keys.map((_, index) => {
        const ttlMs = Number(replies[index * 3 + 2]?.[1])
        return { count: Number(replies[index * 3 + 1]?.[1]), ttlMs: ttlMs > 0 ? ttlMs : windowMs }
      })
    },
    claim: async (key, ttlMs) => {
      const reply = await guard('claim', () => client.set(prefix + key, '1', 'PX', ttlMs, 'NX'))
      return reply === undefined ? undefined : reply === 'OK'
    },
    forget: async (key) => {
      await guard('forget', () => client.del(prefix + key))
    },
    close: async () => {
      await guard('quit', () => client.quit())
      client.disconnect()
    },
  }
}
