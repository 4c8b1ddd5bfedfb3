/**
 * Retry with exponential backoff and jitter, inside the request's deadline, and a circuit
 * breaker shared by the instance, both from cockatiel. An attempt throws a classified
 * `DatabaseFailure`; what is retried depends on whether the operation is a read (anything
 * that may be a passing outage) or a write (only what certainly never reached the database).
 * After repeated outages the breaker opens and requests skip the database for a cool-down,
 * straight to their fallback, then one probe decides whether it closes again.
 */
import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel'
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
  /** How long the breaker stays open before it lets one probe through. */
  readonly cooldownMs: number
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
  cooldownMs: 5_000,
  reserveMs: 250,
  name: 'primary',
}

/** 503 with Retry-After: the database could not be reached within the request's deadline. */
export class DatabaseUnavailable extends HttpError {
  override name = 'DatabaseUnavailable'
  readonly kind: FailureKind

  constructor(kind: FailureKind, retryAfterSeconds: number) {
    super(503, 'Service temporarily unavailable: the database did not answer', { 'retry-after': String(retryAfterSeconds) })
    this.kind = kind
  }
}

export type Operation = 'read' | 'write'

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

export class Resilience {
  readonly options: ResilienceOptions
  readonly breaker: CircuitBreakerPolicy
  readonly #policies: Record<Operation, IPolicy>

  constructor(options: Partial<ResilienceOptions> = {}) {
    this.options = { ...DEFAULT_RESILIENCE, ...options }
    const { maxAttempts, initialDelayMs, maxDelayMs, breakAfter, cooldownMs, name } = this.options
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof DatabaseFailure && isOutage(error.kind)),
      { halfOpenAfter: cooldownMs, breaker: new ConsecutiveBreaker(breakAfter) },
    )
    this.breaker.onStateChange((state) => log('warn', 'database circuit breaker', { database: name, state: CircuitState[state] }))
    const retrying = (operation: Operation) => {
      const policy = retry(
        handleWhen((error) => error instanceof DatabaseFailure && isRetryable(error.kind, operation)),
        { maxAttempts: maxAttempts - 1, backoff: new ExponentialBackoff({ initialDelay: initialDelayMs, maxDelay: maxDelayMs }) },
      )
      policy.onRetry((reason) =>
        log('warn', 'database retry', {
          database: name,
          operation,
          delay_ms: Math.round(reason.delay),
          attempt: reason.attempt,
          kind: 'error' in reason && reason.error instanceof DatabaseFailure ? reason.error.kind : undefined,
        }),
      )
      return wrap(policy, this.breaker)
    }
    this.#policies = { read: retrying('read'), write: retrying('write') }
  }

  get state(): 'closed' | 'open' | 'half-open' | 'isolated' {
    const names = { [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half-open', [CircuitState.Isolated]: 'isolated' } as const
    return names[this.breaker.state]
  }

  /** Seconds a client should wait before trying again: the breaker's cool-down, at least 1. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.options.cooldownMs / 1000))
  }

  /**
   * Runs `attempt` with retries until it succeeds, fails for good, or the deadline
   * (`remainingMs()`, less the reserve) comes. An outage ends as `DatabaseUnavailable`; any
   * other error (an SQL error, a bug) comes out as it was thrown.
   */
  async run<T>(operation: Operation, remainingMs: () => number, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const budget = remainingMs() - this.options.reserveMs
    let last: DatabaseFailure | undefined
    if (budget <= 0) throw new DatabaseUnavailable('pool_timeout', this.retryAfterSeconds)
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(), budget)
    try {
      const giveUp = () => last ?? new DatabaseFailure('pool_timeout', new Error('deadline reached'))
      const attempts = this.#policies[operation].execute(async ({ signal }) => {
        try {
          // An attempt in flight when the deadline comes is abandoned, not waited for.
          return await untilAborted(attempt(signal), signal, giveUp)
        } catch (error) {
          if (error instanceof DatabaseFailure) last = error
          throw error
        }
      }, deadline.signal)
      // So is a backoff wait: the answer (a stale one, a 503) goes out at the deadline.
      return await untilAborted(attempts, deadline.signal, giveUp)
    } catch (error) {
      if ((error as { isBrokenCircuitError?: boolean }).isBrokenCircuitError) throw new DatabaseUnavailable('circuit_open', this.retryAfterSeconds)
      const failure = error instanceof DatabaseFailure ? error : last
      if (failure !== undefined && isOutage(failure.kind) && (error === failure || deadline.signal.aborted)) {
        log('warn', 'database unavailable', { database: this.options.name, operation, kind: failure.kind, breaker: this.state })
        throw new DatabaseUnavailable(failure.kind, this.retryAfterSeconds)
      }
      throw error instanceof DatabaseFailure ? error.cause : error
    } finally {
      clearTimeout(timer)
    }
  }
}
