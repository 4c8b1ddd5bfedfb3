/**
 * Sign-in throttling: after too many failed sign-ins for one username, or from one client
 * network, within a window, the next attempt is answered 429 with `Retry-After` until the
 * window ends, before its password is checked: no hash is spent on it, and the answer is the
 * same whether the username exists or not.
 *
 * Fixed windows, counted at the attempt: an attempt adds one to its username's and its
 * address's counters in one atomic step and is refused when either is then over its limit,
 * so concurrent guesses cannot slip past between a check and a count. A sign-in that succeeds
 * clears its username's counter and takes its count back from the address's, so only
 * failures are held against either (many people sign in from one address); one that was never
 * decided (the database did not answer) takes back both.
 *
 * The counters are in Redis when REDIS_URL names one (the stale cache's shared tier), so that
 * every instance counts together.
 * The instance counts too, in a bounded map, and goes by its own counts when Redis does not
 * answer; without Redis the limits hold per instance (a Lambda instance, a Workers isolate).
 */
import { readThrottleConfig, type ThrottleConfig } from '../config.ts'
import { clientAddress, clientNetwork } from '../http/client-address.ts'
import { depends } from '../http/depends.ts'
import { HttpError } from '../http/errors.ts'
import { lifespan } from '../http/lifespan.ts'
import { BoundedLru, sharedCache, type SharedStore, type StaleCache } from '../http/stale-cache.ts'

interface Counted {
  readonly count: number
  readonly ttlMs: number
}

/** The instance's counters; the least recently counted go first when there are too many. */
class LocalCounters {
  readonly #counters = new BoundedLru<{ count: number; readonly expires: number }>({ maxEntries: 10_000, maxBytes: 10_000, sizeOf: () => 1 })

  count(keys: readonly string[], windowMs: number, by: number, now = Date.now()): Counted[] {
    return keys.map((key) => {
      let counter = this.#counters.get(key, now)
      if (counter === undefined) {
        counter = { count: 0, expires: now + windowMs }
        this.#counters.set(key, counter, windowMs, now)
      }
      counter.count += by
      return { count: counter.count, ttlMs: counter.expires - now }
    })
  }

  forget(key: string): void {
    // An entry that has expired is dropped when it is next read.
    this.#counters.set(key, { count: 0, expires: 0 }, 0)
  }
}

/**
 * Kept by the app rather than by a lifespan: on Workers lifespans live for one request, and
 * the isolate's counts must outlive it. Keyed by the app's stale cache, which is per instance.
 */
const instances = new WeakMap<StaleCache, LocalCounters>()

function countersOf(cache: StaleCache): LocalCounters {
  let counters = instances.get(cache)
  if (counters === undefined) instances.set(cache, (counters = new LocalCounters()))
  return counters
}

/** The limits, read as the instance starts. */
export const throttling = lifespan('signInThrottle', async function* ({ env }) {
  yield readThrottleConfig(env)
})

// Usernames are matched as they are written (findLogin); one longer than any username is cut,
// so that a key stays small whatever is sent.
const usernameKey = (username: string) => JSON.stringify(['sign-in', 'username', username.slice(0, 64)])
const addressKey = (address: string) => JSON.stringify(['sign-in', 'address', clientNetwork(address)])

const tooManyAttempts = (retryAfterSeconds: number) =>
  new HttpError(429, 'Too many sign-in attempts; try again later', { 'retry-after': String(retryAfterSeconds) })

/** One sign-in attempt, counted; what it came to changes what is held against it. */
export interface SignInAttempt {
  /** The right password: the username's failures are forgotten, and the address is not charged. */
  succeeded(): Promise<void>
  /** Never decided (the database did not answer): charged to neither. */
  undecided(): Promise<void>
}

export class SignInThrottle {
  readonly #config: ThrottleConfig
  readonly #shared: SharedStore | undefined
  readonly #local: LocalCounters
  readonly #address: string | undefined
  readonly #windowMs: number

  constructor(options: { config: ThrottleConfig; shared: SharedStore | undefined; local: LocalCounters; address: string | undefined }) {
    this.#config = options.config
    this.#shared = options.shared
    this.#local = options.local
    this.#address = options.address
    this.#windowMs = options.config.windowSeconds * 1000
  }

  /** Counts an attempt for `username` from the client's address; 429 when either is over its limit. */
  async attempt(username: string): Promise<SignInAttempt> {
    const user = usernameKey(username)
    const keys = this.#address === undefined ? [user] : [user, addressKey(this.#address)]
    const counts = await this.#count(keys, 1)
    const limits = [this.#config.perUsername, this.#config.perAddress]
    const over = counts.filter((counted, index) => counted.count > (limits[index] as number))
    if (over.length > 0) throw tooManyAttempts(Math.max(1, ...over.map((counted) => Math.ceil(counted.ttlMs / 1000))))
    return {
      succeeded: async () => {
        this.#local.forget(user)
        await Promise.all([this.#shared?.forget(user), this.#count(keys.slice(1), -1)])
      },
      undecided: async () => {
        await this.#count(keys, -1)
      },
    }
  }

  /** Redis's counts when it answers, the instance's otherwise; both are kept. */
  async #count(keys: readonly string[], by: number): Promise<readonly Counted[]> {
    if (keys.length === 0) return []
    const local = this.#local.count(keys, this.#windowMs, by)
    return (await this.#shared?.count(keys, this.#windowMs, by)) ?? local
  }
}

/**
 * The sign-in route's throttle, for the client that sent the request. It counts in the app's
 * shared tier (`sharedCache`: the function connects it to Redis as it starts), so an instance
 * holds one Redis connection whatever uses it.
 */
export const signInThrottle = depends(
  { name: 'signInThrottle', lifespans: [throttling, sharedCache] },
  (_, scope): SignInThrottle =>
    new SignInThrottle({ config: scope.state(throttling), shared: scope.cache.shared, local: countersOf(scope.cache), address: clientAddress(scope.context) }),
)
