/**
 * The last good answer of each cacheable read, kept in the instance (a bounded LRU) so that
 * when the database cannot answer in time the same request gets it back, marked stale
 * (RFC 9111 `Age`, RFC 9211 `Cache-Status`), instead of a 503. Entries are bounded in number,
 * in bytes, and in how stale they may be served.
 */
import { ConfigError } from '../config-error.ts'
import { lifespan } from './lifespan.ts'
import type { Reply } from './reply.ts'
import type { RouteInfo } from './routes-info.ts'

/**
 * How long a read that has a kept answer waits for the database before it is answered from
 * the cache instead (its fresh attempt abandoned), from the request's start: the stale
 * budget. Of the order of a pool's acquire timeout: an answer that far late is an outage.
 */
export const STALE_AFTER_MS = 1_000

/** `STALE_AFTER_MS` from the environment: a whole number of milliseconds, 50 to 60000. */
export function readStaleAfterMs(env: Readonly<Record<string, string | undefined>>): number {
  const text = env.STALE_AFTER_MS
  if (text === undefined || text === '') return STALE_AFTER_MS
  const value = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN
  if (!(value >= 50 && value <= 60_000)) throw new ConfigError('STALE_AFTER_MS', `must be a whole number of milliseconds from 50 to 60000, not "${text}"`)
  return value
}

/** The cache name in `Cache-Status`, as the wire contract names it. */
export const CACHE_NAME = 'users-api'

export interface CachedReply {
  readonly status: number
  readonly contentType: string
  readonly body: string
  readonly storedAt: number
  /** When it may no longer be used (absent in entries of older versions: `storedAt` + the cache's limit). */
  readonly expiresAt?: number
}

/**
 * What a route that writes to the shared tier without serving from it (a withdrawal of kept
 * rights) needs: its function connects to Redis as it starts, and is linked to its URL.
 */
export const sharedCache = lifespan('sharedCache', async function* () {
  yield undefined
}, { secrets: ['RedisUrl'] })

/**
 * Whether a route's function connects to the shared tier: it may answer stale, or one of its
 * lifespans uses the tier (`sharedCache`; the database, whose status instances share).
 */
export function usesSharedCache(info: Pick<RouteInfo, 'fallback' | 'lifespans'>): boolean {
  return info.fallback !== undefined || [...info.lifespans].some((item) => item.secrets.includes('RedisUrl'))
}

/** A cache shared by instances (Redis): best effort, a failure is a miss. */
export interface SharedStore {
  get(key: string): Promise<string | undefined>
  set(key: string, value: string, ttlMs: number): Promise<void>
  close(): Promise<void>
  /**
   * Adds `by` to each counter, all in one step; a counter that is not there starts a window of
   * `windowMs`, which later counts do not extend. Each count, and the ms left of its window.
   */
  count(keys: readonly string[], windowMs: number, by?: number): Promise<readonly { readonly count: number; readonly ttlMs: number }[] | undefined>
  /** Removes a counter. */
  forget(key: string): Promise<void>
  /**
   * Takes `key` for `ttlMs` if no one holds it (Redis `SET NX PX`): true for the one caller
   * that took it; undefined when the store did not answer.
   */
  claim(key: string, ttlMs: number): Promise<boolean | undefined>
}

export interface StaleCacheOptions {
  readonly shared?: SharedStore | undefined
  readonly maxEntries?: number
  /** Total bytes of bodies kept. */
  readonly maxBytes?: number
  /** Oldest answer that may still be served. */
  readonly maxStaleMs?: number
  readonly name?: string
}

/**
 * Least recently used first out, bounded by entries and by bytes, each entry until its own
 * expiry: a Map keeps insertion order, and a use moves an entry to the end. (lru-cache did
 * this at 18 KB of every bundle; this is what the stale cache needs of it.)
 */
export class BoundedLru<V> {
  readonly #items = new Map<string, { value: V; size: number; expires: number }>()
  readonly #maxEntries: number
  readonly #maxBytes: number
  readonly #sizeOf: (value: V) => number
  #bytes = 0

  constructor(options: { maxEntries: number; maxBytes: number; sizeOf: (value: V) => number }) {
    this.#maxEntries = options.maxEntries
    this.#maxBytes = options.maxBytes
    this.#sizeOf = options.sizeOf
  }

  get size(): number {
    return this.#items.size
  }

  get bytes(): number {
    return this.#bytes
  }

  get(key: string, now = Date.now()): V | undefined {
    const item = this.#items.get(key)
    if (item === undefined) return undefined
    this.#remove(key, item)
    if (item.expires <= now) return undefined
    this.#items.set(key, item)
    this.#bytes += item.size
    return item.value
  }

  /** Keeps `value` for `ttlMs`; a value larger than the whole budget is not kept. */
  set(key: string, value: V, ttlMs: number, now = Date.now()): void {
    const existing = this.#items.get(key)
    if (existing !== undefined) this.#remove(key, existing)
    const size = this.#sizeOf(value)
    if (size > this.#maxBytes) return
    this.#items.set(key, { value, size, expires: now + ttlMs })
    this.#bytes += size
    for (const [oldest, item] of this.#items) {
      if (this.#items.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break
      this.#remove(oldest, item)
    }
  }

  #remove(key: string, item: { size: number }): void {
    this.#items.delete(key)
    this.#bytes -= item.size
  }
}

export class StaleCache {
  readonly name: string
  readonly #entries: BoundedLru<CachedReply>
  #shared: SharedStore | undefined
  readonly #maxStaleMs: number

  constructor(options: StaleCacheOptions = {}) {
    this.name = options.name ?? CACHE_NAME
    this.#shared = options.shared
    this.#maxStaleMs = options.maxStaleMs ?? 24 * 60 * 60 * 1000
    this.#entries = new BoundedLru<CachedReply>({
      maxEntries: options.maxEntries ?? 1_000,
      maxBytes: options.maxBytes ?? 16 * 1024 * 1024,
      sizeOf: (entry) => entry.body.length + 64,
    })
  }

  /** The shared tier, for what else counts across instances (the sign-in throttle). */
  get shared(): SharedStore | undefined {
    return this.#shared
  }

  /** Adds the shared tier once it is connected (a function connects it as it starts). */
  useShared(shared: SharedStore | undefined): void {
    this.#shared = shared
  }

  /**
   * Keeps a good answer, for `ttlMs` (at most the cache's limit); the shared copy is written
   * by the promise returned (never rejects).
   */
  remember(key: string, reply: Reply, ttlMs = this.#maxStaleMs): Promise<void> | undefined {
    if (reply.body === null) return undefined
    const storedAt = Date.now()
    const ttl = Math.min(ttlMs, this.#maxStaleMs)
    const entry: CachedReply = {
      status: reply.status,
      contentType: reply.headers['content-type'] ?? 'application/json; charset=utf-8',
      body: reply.body,
      storedAt,
      expiresAt: storedAt + ttl,
    }
    this.#entries.set(key, entry, ttl)
    return this.#shared?.set(key, JSON.stringify(entry), ttl)
  }

  async #lookup(key: string): Promise<CachedReply | undefined> {
    const local = this.#entries.get(key)
    if (local !== undefined) return local
    const shared = await this.#fromShared(key)
    // Kept here only as long as it was to be kept at all.
    if (shared !== undefined) this.#entries.set(key, shared.entry, shared.leftMs)
    return shared?.entry
  }

  /** The shared tier's entry for `key`, with the time it may still be used; undefined when none may. */
  async #fromShared(key: string): Promise<{ entry: CachedReply; leftMs: number } | undefined> {
    const text = await this.#shared?.get(key)
    if (text === undefined) return undefined
    try {
      const entry = JSON.parse(text) as CachedReply
      const leftMs = Math.min(entry.expiresAt ?? Infinity, entry.storedAt + this.#maxStaleMs) - Date.now()
      return leftMs > 0 ? { entry, leftMs } : undefined
    } catch {
      return undefined
    }
  }

  /**
   * The newer of the instance's entry and the shared tier's (which another instance may have
   * written since), without copying the shared one here, where it would hide a later one.
   */
  async #newest(key: string): Promise<CachedReply | undefined> {
    const local = this.#entries.get(key)
    const shared = (await this.#fromShared(key))?.entry
    return local === undefined || (shared !== undefined && shared.storedAt > local.storedAt) ? shared : local
  }

  /** Keeps another kind of last good value (a caller's user record) the same way. */
  keep(key: string, value: string, ttlMs?: number): Promise<void> | undefined {
    return this.remember(key, { status: 200, headers: {}, body: value }, ttlMs)
  }

  /**
   * A value kept with `keep`, and its age; undefined when none may be used. `newest`: the
   * newer of this instance's and the shared tier's, for a value that other instances change.
   */
  async find(key: string, options: { readonly newest?: boolean } = {}): Promise<{ readonly value: string; readonly ageSeconds: number } | undefined> {
    const entry = options.newest ? await this.#newest(key) : await this.#lookup(key)
    return entry && { value: entry.body, ageSeconds: ageSeconds(entry) }
  }

  /** The stale answer for `key` as a reply, with its age; undefined when none may be served. */
  async recall(key: string, requestId: string): Promise<Reply | undefined> {
    const entry = await this.#lookup(key)
    if (entry === undefined) return undefined
    const age = ageSeconds(entry)
    return {
      status: entry.status,
      headers: {
        'content-type': entry.contentType,
        age: String(age),
        'cache-status': `${this.name}; hit; ttl=${-age}`,
        'x-request-id': requestId,
      },
      body: entry.body,
    }
  }

  async close(): Promise<void> {
    await this.#shared?.close()
  }
}

/** Whole seconds since the answer was made (RFC 9111's `Age`). */
function ageSeconds(entry: CachedReply): number {
  return Math.max(0, Math.floor((Date.now() - entry.storedAt) / 1000))
}

/** Route, caller's authority and the validated parameters: what makes two reads the same. */
export function cacheKey(route: string, authority: string, params: unknown, query: unknown): string {
  return JSON.stringify([route, authority, sorted(params), sorted(query)])
}

function sorted(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}
