/**
 * Retry with exponential backoff and jitter, inside the request's deadline, and a circuit
 * breaker. An attempt throws a classified `DatabaseFailure`; what is retried depends on
 * whether the operation is a read (anything that may be a passing outage) or a write (only
 * what certainly never reached the database). After repeated outages the breaker opens and
 * requests skip the database, straight to their fallback, while one probe at a time (one
 * per cool-down, across instances when they share a status) finds out whether it is back.
 *
 * Both are written here rather than taken from cockatiel, whose semantics they keep (a
 * consecutive-failure breaker with one half-open probe; Polly's decorrelated-jitter backoff):
 * cockatiel was 24 KB of every database function's bundle for some sixty lines of behaviour,
 * and what the breaker knows is this toolkit's to share between instances.
 */
import { HttpError } from '../http/errors.ts'
import { log } from '../log.ts'
import { DatabaseFailure, isOutage, isRetryable, type FailureKind } from './failures.ts'

export interface ResilienceOptions {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  /** Consecutive outages that open the breaker. */
  readonly breakAfter: number
  /** While the breaker is open, the time between probes (one at a time, across instances with a shared status). */
  readonly cooldownMs: number
  /**
   * How long a probe may take: once the database is known to be down, a request that probes
   * it answers (503, or stale) within this, as the others do at once. The stale budget.
   */
  readonly probeTimeoutMs: number
  /** Time kept back from the deadline for the answer itself (a fallback, a 503). */
  readonly reserveMs: number
  /** Which database the logs name: `primary` or `replica`. */
  readonly name: string
}

export const DEFAULT_RESILIENCE: ResilienceOptions = {
  maxAttempts: 4,
  initialDelayMs: 50,
  maxDelayMs: 1_000,
  breakAfter: 5,
  cooldownMs: 500,
  probeTimeoutMs: 1_000,
  reserveMs: 250,
  name: 'primary',
}

/** 503 with Retry-After: the database could not be reached within the request's deadline. */
export class DatabaseUnavailable extends HttpError {
  override name = 'DatabaseUnavailable'
  readonly kind: FailureKind

  constructor(kind: FailureKind, retryAfterSeconds: number) {
    const why = kind === 'conflict' ? 'the change kept conflicting with others' : kind === 'pool_exhausted' ? 'too busy' : 'the database did not answer'
    super(503, `Service temporarily unavailable: ${why}`, { 'retry-after': String(retryAfterSeconds) })
    this.kind = kind
  }
}

export type Operation = 'read' | 'write'

export interface RunOptions {
  /** Whether a failed attempt may be made again (by default, what `isRetryable` says of the operation). */
  readonly retryable?: (failure: DatabaseFailure) => boolean
  /**
   * What an attempt abandoned at the deadline was doing, when it knows better than
   * `pool_timeout` (waiting on its own instance's busy pool: `pool_exhausted`).
   */
  readonly abandoned?: () => FailureKind | undefined
  /** Ends the run as the deadline does, earlier: the request has another answer to give. */
  readonly signal?: AbortSignal | undefined
}

export type BreakerState = 'closed' | 'open' | 'half-open'

/** How the breaker's log line names a state (cockatiel's names, which dashboards search). */
const LOGGED_STATE: Record<BreakerState, string> = { closed: 'Closed', open: 'Open', 'half-open': 'HalfOpen' }

/** What one instance found of the database, and when: the last finding of any instance wins. */
export interface Finding {
  readonly down: boolean
  /** Epoch milliseconds. */
  readonly at: number
}

/**
 * What the instances of a database's functions tell each other through the shared tier
 * (lib/db/shared-status.ts): that it is down, or back, and who may probe it next. Best
 * effort: `undefined` is "the shared tier did not answer", and the instance goes on alone.
 */
export interface SharedStatus {
  read(): Promise<Finding | undefined>
  write(finding: Finding): Promise<void>
  /** True for one caller per `ms` across all instances: that one probes. */
  claimProbe(ms: number): Promise<boolean | undefined>
}

const DONE = Promise.resolve()

/** How often an instance reads the shared status while it takes the database for up. */
const SYNC_WHILE_UP_MS = 1_000

/**
 * A connection that the pool handed over after its attempt was abandoned (and that went back
 * to the pool): the database accepted it, late. Thrown by the attempt for the breaker to see.
 */
export class LateConnection extends Error {
  override name = 'LateConnection'
}

/** The breaker is open: the database was not tried (failures.ts classifies it `circuit_open`). */
class BrokenCircuit extends Error {
  override name = 'BrokenCircuit'
  readonly isBrokenCircuitError = true
}

/**
 * Opens after `breakAfter` consecutive outages. While it is open one call at a time goes
 * through as the probe, at most one per `cooldownMs` (across all instances, with a shared
 * status), and the others fail at once; a probe that succeeds closes it. A failure that is
 * not an outage (an SQL error) neither counts nor resets the count, but it does close a
 * half-open breaker: the database answered. A full pool says nothing of the database: it
 * neither counts nor ends a probe's doubt. Nor does a request that stops waiting (it answers
 * stale at its budget): the attempt it left is judged by what it ends in on its own, so that
 * a slow database, or an instance short of CPU, is not taken for one that is down.
 *
 * With a shared status, what the breaker finds (open, closed again) is written there, and
 * what others found is read from it: once a second while closed, on every call while open,
 * so that an instance does not pay timeouts to learn what another already knows.
 */
class CircuitBreaker {
  state: BreakerState = 'closed'
  #failures = 0
  /** When the state last changed on a finding (this instance's or one read from the shared status). */
  #foundAt = 0
  /** Findings made or learnt so far. */
  #findings = 0
  #probedAt = 0
  #syncedAt = Number.NEGATIVE_INFINITY
  #syncing: Promise<void> | undefined
  readonly #options: ResilienceOptions
  readonly #shared: SharedStatus | undefined
  readonly #onRecovery: (() => void) | undefined

  constructor(options: ResilienceOptions, shared: SharedStatus | undefined, onRecovery: (() => void) | undefined) {
    this.#options = options
    this.#shared = shared
    this.#onRecovery = onRecovery
  }

  /** Reads what other instances found, when it is time to (see the class comment). */
  sync(): Promise<void> {
    const shared = this.#shared
    if (shared === undefined) return DONE
    const now = Date.now()
    if (this.state === 'closed' && now - this.#syncedAt < SYNC_WHILE_UP_MS) return DONE
    return (this.#syncing ??= shared
      .read()
      .then((finding) => {
        this.#syncedAt = Date.now()
        if (finding !== undefined && finding.at > this.#foundAt) this.#learn(finding)
      })
      .finally(() => {
        this.#syncing = undefined
      }))
  }

  /**
   * Runs one attempt under the breaker. The attempt gets `signal`, and a probe also its own
   * time (the stale budget); once that comes, the attempt is abandoned (`giveUp` is thrown),
   * not waited for. What the breaker makes of it is what the attempt itself ends in, however
   * late: see `#noteFailure`.
   */
  async execute<T>(attempt: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, giveUp: () => Error): Promise<T> {
    await this.sync()
    if (this.state === 'closed') return this.#observe(attempt, signal, false, giveUp)
    if (!(await this.#mayProbe())) throw new BrokenCircuit('the circuit breaker is open')
    this.#enter('half-open')
    return this.#observe(attempt, AbortSignal.any([signal, AbortSignal.timeout(this.#options.probeTimeoutMs)]), true, giveUp)
  }

  /** Whether this call is the probe: none in flight here, none in the last cool-down, here or anywhere. */
  async #mayProbe(): Promise<boolean> {
    const now = Date.now()
    if (this.state === 'half-open' || now - this.#probedAt < this.#options.cooldownMs) return false
    this.#probedAt = now
    // Without an answer from the shared tier, the instance probes on its own.
    const claimed = await this.#shared?.claimProbe(this.#options.cooldownMs)
    return claimed !== false && this.state === 'open'
  }

  #observe<T>(attempt: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, probing: boolean, giveUp: () => Error): Promise<T> {
    const findings = this.#findings
    if (probing) {
      // A probe abandoned lets the next one go a cool-down after it began; what it ends in still counts when it comes.
      signal.addEventListener('abort', () => {
        if (findings === this.#findings && this.state === 'half-open') this.#enter('open')
      }, { once: true })
    }
    const noted = attempt(signal).then(
      async (value) => {
        await this.#noteSuccess(probing, findings)
        return value
      },
      async (error: unknown) => {
        await this.#noteFailure(error, signal, probing, findings)
        throw error
      },
    )
    return untilAborted(noted, signal, giveUp)
  }

  async #noteSuccess(probing: boolean, findings: number): Promise<void> {
    // An attempt that began before the last finding (a probe, a request, of the outage the
    // database is since found back from) says nothing of the database now.
    if (findings !== this.#findings) return
    this.#failures = 0
    if (probing) await this.#found(false)
  }

  /**
   * What a failed attempt says of the database. An attempt abandoned (the request answered
   * stale at its budget, or 503 at its deadline) is not a failure: the database was slow, or
   * this instance was (a machine, an event loop, short of CPU). It is judged by what it ends
   * in on its own: a connection that arrives after all shows the database up; one refused, or
   * not opened within the pool's connect timeout, shows it down; a statement that fails once
   * abandoned failed because its connection was closed for it, which says nothing. Nor does a
   * timeout that fired long overdue: the instance was frozen (Lambda freezes it once its
   * request has answered, a connection still opening) or starved of CPU.
   */
  async #noteFailure(error: unknown, signal: AbortSignal, probing: boolean, findings: number): Promise<void> {
    if (error instanceof LateConnection) return this.#noteSuccess(probing, findings)
    if (findings !== this.#findings) return
    const failure = error instanceof DatabaseFailure ? error : undefined
    const kind = failure?.kind
    const telling = failure?.overdue !== true && (!signal.aborted || kind === 'pool_timeout' || kind === 'connect_failed')
    if (kind === 'pool_exhausted' || !telling) {
      // A full pool says nothing of the database either. A probe that learnt nothing lets the next one go.
      if (probing && this.state === 'half-open') this.#enter('open')
    } else if (kind !== undefined && isOutage(kind)) {
      if (probing) {
        // Still down, as found before, unless another instance has found it back meanwhile.
        // The finding is kept alive, but not made new, so that no instance waits a cool-down
        // from this probe's end: the next probe may start one cool-down after this one
        // started, however long this one took.
        await this.sync()
        if (this.state === 'half-open') {
          this.#enter('open')
          await this.#shared?.write({ down: true, at: this.#foundAt })
        }
      } else if (++this.#failures >= this.#options.breakAfter && this.state === 'closed') await this.#found(true)
    } else if (probing) await this.#found(false)
  }

  /** This instance found the database down or answering: the breaker follows, and others are told. */
  async #found(down: boolean): Promise<void> {
    const finding = { down, at: Date.now() }
    this.#learn(finding)
    await this.#shared?.write(finding)
  }

  #learn(finding: Finding): void {
    this.#findings++
    this.#foundAt = finding.at
    if (finding.down) this.#probedAt = Math.max(this.#probedAt, finding.at)
    this.#enter(finding.down ? 'open' : 'closed')
  }

  #enter(state: BreakerState): void {
    if (this.state === state) return
    const recovered = state === 'closed'
    this.state = state
    if (recovered) {
      this.#failures = 0
      this.#onRecovery?.()
    }
    log('warn', 'database circuit breaker', { database: this.#options.name, state: LOGGED_STATE[state] })
  }
}

/**
 * Polly's decorrelated jitter (V2), as cockatiel's `ExponentialBackoff` computes it: the
 * n-th delay lies around `initialMs` × 2^n with a spread that keeps instances from retrying
 * in step, capped at `maxMs`.
 */
function backoff(initialMs: number, maxMs: number): () => number {
  let attempt = 0
  let previous = 0
  return () => {
    const t = attempt++ + Math.random()
    const next = 2 ** t * Math.tanh(Math.sqrt(4 * t))
    const delay = Math.min((Math.max(0, next - previous) / 1.4) * initialMs, maxMs)
    previous = next
    return delay
  }
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal, reason: () => Error): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined) // abandoned: its outcome no longer matters
    return Promise.reject(reason())
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason())
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class Resilience {
  readonly options: ResilienceOptions
  readonly #breaker: CircuitBreaker

  /**
   * `shared`: what the instances tell each other of this database; without it, each finds out
   * alone. `onRecovery`: called when the breaker closes again, the database found back.
   */
  constructor(options: Partial<ResilienceOptions> = {}, shared?: SharedStatus, onRecovery?: () => void) {
    this.options = { ...DEFAULT_RESILIENCE, ...options }
    this.#breaker = new CircuitBreaker(this.options, shared, onRecovery)
  }

  get state(): BreakerState {
    return this.#breaker.state
  }

  /** Reads what other instances found of the database, when it is time to (as a request does first). */
  sync(): Promise<void> {
    return this.#breaker.sync()
  }

  /** Seconds a client should wait before trying again: the breaker's cool-down, at least 1. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.options.cooldownMs / 1000))
  }

  /**
   * Runs `attempt` with retries until it succeeds, fails for good, or the deadline
   * (`remainingMs()`, less the reserve) comes. An outage, or a conflict that retries did not
   * get past, ends as `DatabaseUnavailable`; any other error (an SQL error, a bug) comes out
   * as it was thrown.
   */
  async run<T>(operation: Operation, remainingMs: () => number, attempt: (signal: AbortSignal) => Promise<T>, options: RunOptions = {}): Promise<T> {
    const { retryable, abandoned, signal: outer } = options
    const { maxAttempts, initialDelayMs, maxDelayMs, reserveMs, name } = this.options
    const budget = remainingMs() - reserveMs
    if (budget <= 0 || outer?.aborted) throw new DatabaseUnavailable('pool_timeout', this.retryAfterSeconds)
    let last: DatabaseFailure | undefined
    const deadline = new AbortController()
    const { signal } = deadline
    const timer = setTimeout(() => deadline.abort(), budget)
    const abandon = () => deadline.abort()
    outer?.addEventListener('abort', abandon, { once: true })
    const giveUp = () => {
      const doing = abandoned?.()
      return doing !== undefined ? new DatabaseFailure(doing, new Error('deadline reached')) : (last ?? new DatabaseFailure('pool_timeout', new Error('deadline reached')))
    }
    const nextDelay = backoff(initialDelayMs, maxDelayMs)
    try {
      for (let tries = 1; ; tries++) {
        try {
          // An attempt in flight when the deadline comes is abandoned, not waited for.
          return await this.#breaker.execute(attempt, signal, giveUp)
        } catch (error) {
          if (!(error instanceof DatabaseFailure)) throw error
          last = error
          if (!(retryable ? retryable(error) : isRetryable(error.kind, operation)) || signal.aborted || tries >= maxAttempts) throw error
          const delay = nextDelay()
          log('warn', 'database retry', { database: name, operation, delay_ms: Math.round(delay), attempt: tries, kind: error.kind })
          // So is a backoff wait: the answer (a stale one, a 503) goes out at the deadline.
          await untilAborted(sleep(delay), signal, giveUp)
        }
      }
    } catch (error) {
      if (error instanceof BrokenCircuit) throw new DatabaseUnavailable('circuit_open', this.retryAfterSeconds)
      const failure = error instanceof DatabaseFailure ? error : last
      if (failure !== undefined && (isOutage(failure.kind) || failure.kind === 'conflict' || failure.kind === 'pool_exhausted') && (error === failure || signal.aborted)) {
        log('warn', 'database unavailable', { database: name, operation, kind: failure.kind, breaker: this.state })
        throw new DatabaseUnavailable(failure.kind, this.retryAfterSeconds)
      }
      throw error instanceof DatabaseFailure ? error.cause : error
    } finally {
      clearTimeout(timer)
      outer?.removeEventListener('abort', abandon)
    }
  }
}
