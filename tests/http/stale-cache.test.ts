/**
 * The in-instance tier of the stale cache: least recently used out first, bounded by entries
 * and by bytes, nothing served past its age; answers come back marked stale.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BoundedLru, StaleCache, type SharedStore } from '../../lib/http/stale-cache.ts'

const text = (value: string) => value.length

/** A shared tier in a Map (without Redis's expiry: what the cache itself checks is tested). */
function sharedTier(stored: Map<string, string>): SharedStore {
  return {
    get: async (key) => stored.get(key),
    set: async (key, value) => void stored.set(key, value),
    count: async () => undefined,
    forget: async (key) => void stored.delete(key),
    claim: async () => undefined,
    close: async () => undefined,
  }
}

describe('the bounded LRU under the stale cache', () => {
  it('drops the least recently used entry when full, a read counting as a use', () => {
    const lru = new BoundedLru<string>({ maxEntries: 2, maxBytes: 1_000, sizeOf: text })
    lru.set('a', 'A', 60_000)
    lru.set('b', 'B', 60_000)
    assert.equal(lru.get('a'), 'A') // a is now the most recent
    lru.set('c', 'C', 60_000)
    assert.equal(lru.get('b'), undefined)
    assert.equal(lru.get('a'), 'A')
    assert.equal(lru.get('c'), 'C')
    assert.equal(lru.size, 2)
  })

  it('keeps the bytes under the budget, and never keeps a value larger than all of it', () => {
    const lru = new BoundedLru<string>({ maxEntries: 100, maxBytes: 10, sizeOf: text })
    lru.set('a', 'xxxx', 60_000)
    lru.set('b', 'yyyy', 60_000)
    lru.set('c', 'zzzz', 60_000)
    assert.equal(lru.get('a'), undefined)
    assert.equal(lru.bytes, 8)
    lru.set('huge', 'x'.repeat(11), 60_000)
    assert.equal(lru.get('huge'), undefined)
    assert.equal(lru.bytes, 8)
    lru.set('b', 'y', 60_000) // replacing an entry gives its bytes back
    assert.equal(lru.bytes, 5)
  })

  it('serves nothing past its own expiry', () => {
    const lru = new BoundedLru<string>({ maxEntries: 10, maxBytes: 100, sizeOf: text })
    lru.set('short', 's', 1_000, 0)
    lru.set('long', 'l', 5_000, 0)
    assert.equal(lru.get('short', 999), 's')
    assert.equal(lru.get('short', 1_000), undefined)
    assert.equal(lru.get('long', 4_999), 'l')
    assert.equal(lru.size, 1)
  })
})

describe('the stale cache', () => {
  it('recalls a kept answer marked stale (Age, Cache-Status), and nothing older than its limit', async () => {
    const cache = new StaleCache({ maxStaleMs: 60_000 })
    cache.remember('k', { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"a":1}' })
    const stale = await cache.recall('k', 'req-1')
    assert.deepEqual(stale, {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8', age: '0', 'cache-status': 'users-api; hit; ttl=0', 'x-request-id': 'req-1' },
      body: '{"a":1}',
    })
    assert.equal(await cache.recall('other', 'req-2'), undefined)
    const none = new StaleCache({ maxStaleMs: 0 })
    none.remember('k', { status: 200, headers: {}, body: '{}' })
    assert.equal(await none.recall('k', 'req-3'), undefined)
  })

  it('keeps a value only as long as it was to be kept, in the instance and when read back from the shared tier', async () => {
    const stored = new Map<string, string>()
    const shared = sharedTier(stored)
    const writer = new StaleCache({ shared })
    await writer.keep('short', 'v', 40)
    await writer.keep('long', 'w')
    // Another instance reads both from the shared tier: the short one with its own expiry.
    const reader = new StaleCache({ shared })
    assert.equal((await reader.find('short'))?.value, 'v')
    assert.equal((await reader.find('long'))?.value, 'w')
    await new Promise((resolve) => setTimeout(resolve, 60))
    assert.equal(await writer.find('short'), undefined, 'gone in the instance that kept it')
    assert.equal(await reader.find('short'), undefined, 'gone in the instance that read it, and not read again from the shared tier')
    assert.equal((await reader.find('long'))?.value, 'w')
  })

  it('finds the newer of the instance\'s value and the shared tier\'s when asked, without copying it into the instance', async () => {
    const stored = new Map<string, string>()
    const shared = sharedTier(stored)
    const one = new StaleCache({ shared })
    const other = new StaleCache({ shared })
    await one.keep('k', 'first')
    await new Promise((resolve) => setTimeout(resolve, 5))
    await other.keep('k', 'second')
    assert.equal((await one.find('k'))?.value, 'first', 'the instance\'s own, by default')
    assert.equal((await one.find('k', { newest: true }))?.value, 'second')
    stored.clear()
    assert.equal((await one.find('k', { newest: true }))?.value, 'first', 'not copied: the instance still has its own')
  })
})
