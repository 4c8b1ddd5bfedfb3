/**
 * What instances of a function tell each other of their database through the shared tier:
 * one finds it down and the others stop trying at once; one probe at a time across all of
 * them; one finds it back and the others answer fresh. Each "instance" here is a Resilience
 * of its own (as each Lambda instance has), sharing one store; the store is Redis when
 * REDIS_URL is set, else a Map that expires keys as Redis does.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sharedStoreFromEnv } from '../../lib/cache/redis.ts'
import { DatabaseFailure } from '../../lib/db/failures.ts'
import { DatabaseUnavailable, Resilience } from '../../lib/db/resilience.ts'
import { sharedStatus } from '../../lib/db/shared-status.ts'
import type { SharedStore } from '../../lib/http/stale-cache.ts'
import { captureLogs } from '../support/logs.ts'

/** Keys that expire, and SET NX, as Redis has them. */
function memoryStore(): SharedStore {
  const items = new Map<string, { value: string; expires: number }>()
  const live = (key: string) => {
    const item = items.get(key)
    if (item !== undefined && item.expires <= Date.now()) items.delete(key)
    return items.get(key)
  }
  return {
    get: async (key) => live(key)?.value,
    set: async (key, value, ttlMs) => void items.set(key, { value, expires: Date.now() + ttlMs }),
    count: async () => undefined,
    forget: async (key) => void items.delete(key),
    claim: async (key, ttlMs) => {
      if (live(key) !== undefined) return false
      items.set(key, { value: '1', expires: Date.now() + ttlMs })
      return true
    },
    close: async () => undefined,
  }
}

const quick = { initialDelayMs: 10, maxDelayMs: 20, reserveMs: 0, maxAttempts: 1, breakAfter: 2, cooldownMs: 300, probeTimeoutMs: 400 }
const down = () => Promise.reject(new DatabaseFailure('connect_failed', new Error('connection refused')))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('instances sharing what they find of the database', () => {
  let store: SharedStore
  let database = 0

  before(async () => {
    const env = { REDIS_URL: process.env.REDIS_URL, DATABASE_URL: `postgres://shared-status-test/${process.pid}` }
    store = (await sharedStoreFromEnv(env)) ?? memoryStore()
  })
  after(() => store.close())

  /** `count` instances of one database, each with its own breaker, sharing the store. */
  function instances(count: number, options: Partial<typeof quick> = {}): Resilience[] {
    const name = `test-${process.pid}-${Date.now()}-${database++}`
    return Array.from({ length: count }, () => new Resilience({ ...quick, ...options }, sharedStatus(store, name)))
  }

  /** Runs one read on `instance`, counting the attempts that reached the "database". */
  async function read(instance: Resilience, attempt: () => Promise<string>, calls: { count: number }): Promise<string> {
    return instance.run('read', () => 10_000, () => {
      calls.count++
      return attempt()
    })
  }

  it('one instance finds the database down: a cold one starting after it, and a warm one, do not try it', async () => {
    // A long cool-down: no probe falls due in this test.
    const [first, warm, cold] = instances(3, { cooldownMs: 5_000 })
    const calls = { count: 0 }
    assert.equal(await read(warm!, async () => 'fresh', calls), 'fresh')
    const logs = captureLogs()
    try {
      for (let i = 0; i < 2; i++) await assert.rejects(read(first!, down, calls), DatabaseUnavailable)
      assert.equal(first!.state, 'open')
      assert.equal(calls.count, 3)
      // The cold instance learns it as it starts (the database lifespan's sync); the warm one within a second.
      await cold!.sync()
      assert.equal(cold!.state, 'open')
      await assert.rejects(read(cold!, down, calls), (error: unknown) => error instanceof DatabaseUnavailable && error.kind === 'circuit_open')
      await sleep(1_050)
      await assert.rejects(read(warm!, down, calls), (error: unknown) => error instanceof DatabaseUnavailable && error.kind === 'circuit_open')
      assert.equal(calls.count, 3, 'neither tried the database')
    } finally {
      logs.restore()
    }
  })

  it('while it is down, one probe at a time across the instances, one per cool-down', async () => {
    const all = instances(10)
    const calls = { count: 0 }
    for (let i = 0; i < 2; i++) await assert.rejects(read(all[0]!, down, calls), DatabaseUnavailable)
    calls.count = 0
    await sleep(quick.cooldownMs + 20)
    const logs = captureLogs()
    try {
      // Ten instances, each with a request every 50 ms, for 1 s: at most one probe per 300 ms in all.
      const started = Date.now()
      await Promise.all(
        all.map(async (instance) => {
          while (Date.now() - started < 1_000) {
            await read(instance, down, calls).catch(() => undefined)
            await sleep(50)
          }
        }),
      )
    } finally {
      logs.restore()
    }
    assert.ok(calls.count >= 2 && calls.count <= 4, `${calls.count} probes in 1 s at one per 300 ms`)
  })

  it('a probe that takes longer than the cool-down does not hold back the next one: probes start a cool-down apart', async () => {
    const all = instances(4, { cooldownMs: 200, probeTimeoutMs: 600 })
    const calls = { count: 0 }
    for (let i = 0; i < 2; i++) await assert.rejects(read(all[0]!, down, calls), DatabaseUnavailable)
    calls.count = 0
    await sleep(220)
    const silent = () => new Promise<string>(() => undefined)
    const logs = captureLogs()
    try {
      // Four instances, a request every 50 ms each, for 1.6 s; every probe waits out its 600 ms.
      const started = Date.now()
      await Promise.all(
        all.map(async (instance) => {
          const pending: Promise<unknown>[] = []
          while (Date.now() - started < 1_600) {
            pending.push(read(instance, silent, calls).catch(() => undefined))
            await sleep(50)
          }
          await Promise.all(pending)
        }),
      )
    } finally {
      logs.restore()
    }
    // One per 200 ms is 8; one per probe's end and a cool-down (800 ms) would be 2.
    assert.ok(calls.count >= 5 && calls.count <= 9, `${calls.count} probes in 1.6 s`)
  })

  it('one probe finds it back: the others answer fresh on their next request, not after a cool-down', async () => {
    const [first, second] = instances(2, { cooldownMs: 200 })
    const calls = { count: 0 }
    for (let i = 0; i < 2; i++) await assert.rejects(read(first!, down, calls), DatabaseUnavailable)
    await second!.sync()
    assert.equal(second!.state, 'open')
    await sleep(250)
    const logs = captureLogs()
    try {
      assert.equal(await read(first!, async () => 'fresh', calls), 'fresh')
      assert.equal(first!.state, 'closed')
      // No cool-down left to wait for, no probe of its own: it reads the finding on its next request.
      assert.equal(await read(second!, async () => 'fresh too', calls), 'fresh too')
      assert.equal(second!.state, 'closed')
    } finally {
      logs.restore()
    }
  })

  it('a probe of a silent database gives up within the probe timeout, not the deadline', async () => {
    const [instance] = instances(1, { probeTimeoutMs: 300, cooldownMs: 100 })
    const calls = { count: 0 }
    for (let i = 0; i < 2; i++) await assert.rejects(read(instance!, down, calls), DatabaseUnavailable)
    await sleep(150)
    const logs = captureLogs()
    const started = performance.now()
    try {
      await assert.rejects(read(instance!, () => new Promise<string>(() => undefined), calls), (error: unknown) => error instanceof DatabaseUnavailable && error.headers['retry-after'] === '1')
    } finally {
      logs.restore()
    }
    const took = performance.now() - started
    assert.ok(took >= 290 && took < 5_000, `the probe took ${Math.round(took)} ms of a 10 s deadline`)
    assert.equal(instance!.state, 'open')
  })

  it('a full pool during a probe neither closes the breaker nor tells the others it is down', async () => {
    const [first, second] = instances(2, { cooldownMs: 100, breakAfter: 1 })
    const calls = { count: 0 }
    await assert.rejects(read(first!, down, calls), DatabaseUnavailable)
    await sleep(150)
    const logs = captureLogs()
    try {
      const busy = () => Promise.reject(new DatabaseFailure('pool_exhausted', new Error('timeout exceeded when trying to connect')))
      await assert.rejects(read(first!, busy, calls), DatabaseUnavailable)
      assert.equal(first!.state, 'open')
      await second!.sync()
      assert.equal(second!.state, 'open')
      // Nor does a full pool count toward opening it, on an instance that takes the database for up.
      const [fresh] = instances(1, { breakAfter: 1 })
      await assert.rejects(read(fresh!, busy, calls), DatabaseUnavailable)
      assert.equal(fresh!.state, 'closed')
    } finally {
      logs.restore()
    }
  })

  it('without an answer from the shared tier, an instance goes on alone', async () => {
    const silent: SharedStore = { ...memoryStore(), get: async () => undefined, set: async () => undefined, claim: async () => undefined }
    const instance = new Resilience({ ...quick, cooldownMs: 100 }, sharedStatus(silent, 'silent'))
    const calls = { count: 0 }
    const logs = captureLogs()
    try {
      for (let i = 0; i < 2; i++) await assert.rejects(read(instance, down, calls), DatabaseUnavailable)
      assert.equal(instance.state, 'open')
      await sleep(150)
      assert.equal(await read(instance, async () => 'fresh', calls), 'fresh')
      assert.equal(instance.state, 'closed')
    } finally {
      logs.restore()
    }
  })
})
