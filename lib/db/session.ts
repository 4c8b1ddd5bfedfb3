/**
 * A request's database session: one pooled connection, taken on the first statement (a
 * request that fails validation never takes one) and released after the response. Each
 * statement runs under the resilience policy: `read` is retried on any passing outage, on a
 * fresh connection when the old one died; `write` only when it certainly never reached the
 * database. A connection that sat idle past the threshold (a Lambda instance frozen between
 * invocations) is checked with a ping before it is trusted. With a read replica, a read that
 * the primary cannot answer within half the time left goes to the replica for the rest.
 */
import type { PoolClient, QueryResultRow } from '@neondatabase/serverless'
import { newMetrics, type RequestMetrics } from '../http/metrics.ts'
import { log } from '../log.ts'
import { DatabaseFailure, classifyFailure, isRetryable, type FailureKind } from './failures.ts'
import type { Pool } from './pool.ts'
import type { Tracer } from '../trace.ts'
import { DatabaseUnavailable, LateConnection, type Operation, type Resilience } from './resilience.ts'
import { within } from './timeout.ts'

/** A database a session can run statements on: its pool and its retry/breaker policy. */
export interface Target {
  readonly pool: Pool
  readonly resilience: Resilience
  /** `db@host`, as a trace names the database (no credentials). */
  readonly label?: string | undefined
}

export interface SessionOptions extends Target {
  /** A read replica: reads go there when the primary cannot answer in time. */
  readonly replica?: Target | undefined
  /** Time left before the request's deadline. */
  readonly remainingMs: () => number
  /** Where the request's wait for connections and its retries are counted. */
  readonly metrics?: RequestMetrics | undefined
  /** Where each statement goes as a span, when the request is traced (lib/trace.ts). */
  readonly tracer?: Tracer | undefined
  /** A connection idle longer than this is pinged before use. */
  readonly idleCheckMs: number
  /** How long that ping may take before the connection is taken for dead. */
  readonly pingTimeoutMs: number
  /**
   * Aborted when the request stops waiting for the database (it answers from the cache):
   * statements in flight are abandoned, later ones fail at once.
   */
  readonly abandoned?: AbortSignal | undefined
  /**
   * For a request that changes data: how long it waits for a connection, or for a read, before
   * it answers 503 with Retry-After, nothing of it sent (the stale budget), rather than at its
   * deadline. A write on its way is waited for; so is the instance's own busy pool.
   */
  readonly waitBudgetMs?: number | undefined
}

export interface Rows<R> {
  readonly rows: R[]
  readonly rowCount: number
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable'

export interface TransactionOptions {
  /** The transaction's isolation level; the database's default (read committed) when not given. */
  readonly isolation?: IsolationLevel
}

/** What a transaction's function sends its statements with: its one connection, in order. */
export interface Transaction {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<Rows<R>>
}

/** Whether the connection is still good after a statement failed so: the database answered. */
const answered = (kind: FailureKind) => kind === 'query_error' || kind === 'conflict'

const NOTHING = () => undefined

/** How late past the pool's connect timeout a timeout fires before it is taken for the instance's, not the database's. */
const OVERDUE_MS = 1_000

/** How often a request past its wait budget looks again whether what it waits for may be cut. */
const RECHECK_MS = 50

/** When each connection was last handed back, to know how long it has sat idle. */
const lastReleased = new WeakMap<PoolClient, number>()

/** When each pool's database was last found back after an outage: idle connections from before are pinged before use. */
const recoveredAt = new WeakMap<Pool, number>()

/**
 * The pool's idle connections lived through an outage (cut off with the database, severed by
 * it, or the instance frozen meanwhile): each is pinged before its next use, as one idle past
 * the threshold is, so that a dead one costs the ping's timeout, not the stale budget.
 */
export function distrustIdle(pool: Pool): void {
  recoveredAt.set(pool, Date.now())
}

/** Connections that failed while a request held them: closed when handed back. */
const failedClients = new WeakSet<PoolClient>()

/** Each pool's connections that requests hold now. */
const held = new WeakMap<Pool, number>()
const heldBy = new WeakMap<PoolClient, Pool>()

/**
 * Whether a wait for a connection of `pool` that timed out waited on this instance's own
 * requests: every connection the pool may have is held by one. Otherwise a new connection
 * was being opened, and the database was slow to accept it.
 */
function exhausted(pool: Pool): boolean {
  return (held.get(pool) ?? 0) >= (pool.options.max ?? 10)
}

/**
 * A connection that dies while a request holds it (the server closes it, the socket drops)
 * emits `error` on its client, and pg-pool listens only to idle ones: without this listener
 * the process would crash. The statement in flight fails on its own and is retried.
 */
function onHeldClientError(this: PoolClient): void {
  failedClients.add(this)
}

function takeOver(client: PoolClient, pool: Pool): PoolClient {
  client.on('error', onHeldClientError)
  held.set(pool, (held.get(pool) ?? 0) + 1)
  heldBy.set(client, pool)
  return client
}

/** Hands a connection back to the pool; a broken or failed one is closed, not reused. */
function handBack(client: PoolClient, broken: boolean): void {
  client.removeListener('error', onHeldClientError)
  const pool = heldBy.get(client)
  if (pool !== undefined) {
    heldBy.delete(client)
    held.set(pool, (held.get(pool) ?? 1) - 1)
  }
  const close = broken || failedClients.has(client)
  if (!close) lastReleased.set(client, Date.now())
  client.release(close)
}

export class Session {
  readonly #options: SessionOptions
  readonly #metrics: RequestMetrics
  readonly #primary: Line
  readonly #replica: Line | undefined
  /** Why the primary failed a read in this request: later reads go to the replica, writes fail so. */
  #primaryDown: DatabaseUnavailable | undefined
  /**
   * Set when a statement gave up on every database: later statements of the request fail the
   * same way at once instead of spending the rest of its time on retries that will not help.
   */
  #unavailable: DatabaseUnavailable | undefined

  constructor(options: SessionOptions) {
    this.#options = options
    this.#metrics = options.metrics ?? newMetrics()
    this.#primary = new Line(options, options, this.#metrics)
    this.#replica = options.replica && new Line(options.replica, options, this.#metrics)
  }

  /** A statement that changes nothing: retried on any outage, then tried on the replica. */
  read<R extends QueryResultRow = QueryResultRow>(sql: string, params: unknown[] = []): Promise<Rows<R>> {
    return this.#noting(() => this.#read<R>(sql, params))
  }

  /** A statement that changes data: on the primary only, retried only when it never reached it. */
  write<R extends QueryResultRow = QueryResultRow>(sql: string, params: unknown[] = []): Promise<Rows<R>> {
    // The primary already gave up in this request (and its line is closed): no new attempts.
    if (this.#primaryDown !== undefined) return Promise.reject(this.#primaryDown)
    return this.#noting(() => this.#primary.run<R>('write', sql, params, this.#options.remainingMs))
  }

  /**
   * Runs `work` in a transaction on the primary (psycopg's `conn.transaction()`): BEGIN, the
   * statements `work` sends through `tx`, COMMIT; ROLLBACK when it throws, and its error comes
   * out as it was. All of `work` runs again, in a new transaction, after a serialization
   * failure or a deadlock, or when the connection failed before COMMIT was sent (the database
   * rolled it back), inside the request's deadline; never once COMMIT may have reached the
   * database (then 503: whether it applied is not known). So `work` may run more than once,
   * and should do nothing a second run cannot repeat: statements, and decisions on their rows.
   */
  transaction<T>(work: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (this.#primaryDown !== undefined) return Promise.reject(this.#primaryDown)
    return this.#noting(() => this.#primary.transaction(work, options, this.#options.remainingMs))
  }

  async #noting<T>(statement: () => Promise<T>): Promise<T> {
    if (this.#unavailable !== undefined) throw this.#unavailable
    if (this.#options.abandoned?.aborted) throw (this.#unavailable = new DatabaseUnavailable('pool_timeout', this.#options.resilience.retryAfterSeconds))
    try {
      return await statement()
    } catch (error) {
      if (error instanceof DatabaseUnavailable) this.#unavailable = error
      throw error
    }
  }

  async #read<R extends QueryResultRow>(sql: string, params: unknown[]): Promise<Rows<R>> {
    const { remainingMs } = this.#options
    const replica = this.#replica
    if (replica === undefined) return this.#primary.run<R>('read', sql, params, remainingMs)
    if (this.#primaryDown === undefined) {
      // The primary gets half of the time left, so that the replica still has some.
      const kept = remainingMs() / 2
      try {
        return await this.#primary.run<R>('read', sql, params, () => remainingMs() - kept)
      } catch (error) {
        if (!(error instanceof DatabaseUnavailable)) throw error
        this.#primaryDown = error
        this.#primary.release(false)
        log('warn', 'database read from replica', { kind: error.kind })
      }
    }
    const rows = await replica.run<R>('read', sql, params, remainingMs)
    this.#metrics.dbSource = 'replica'
    return rows
  }

  /**
   * Hands the connection back to the pool before the request ends, ahead of slow work that
   * needs no database (a password hash): others may use it meanwhile. A later statement takes
   * one again. Nothing is handed back while a statement or a transaction is on it.
   */
  releaseConnection(): void {
    this.#primary.lend()
    this.#replica?.lend()
  }

  /** Hands the connections back; a failed request's are closed, not reused. */
  release(failed = false): void {
    this.#primary.release(failed)
    this.#replica?.release(failed)
  }
}

/** One database of a session: at most one connection of its pool, taken on first use. */
class Line {
  readonly #target: Target
  readonly #options: SessionOptions
  readonly #metrics: RequestMetrics
  #client: PoolClient | undefined
  /** Set once the request is done: a connection that arrives after that goes straight back. */
  #closed = false
  /** Statements sent and not yet answered (one abandoned at the deadline may still be running). */
  #inFlight = 0
  /** Waiting for the pool to hand over a connection. */
  #waiting = false
  /** A transaction is open on the connection (one abandoned at the deadline may be). */
  #inTransaction = false

  constructor(target: Target, options: SessionOptions, metrics: RequestMetrics) {
    this.#target = target
    this.#options = options
    this.#metrics = metrics
  }

  release(failed: boolean): void {
    this.#closed = true
    const client = this.#client
    this.#client = undefined
    if (client === undefined) return
    // A connection with a statement still running on it, or a transaction still open, cannot
    // be handed to the next request; closed, it rolls the transaction back.
    handBack(client, failed || this.#inFlight > 0 || this.#inTransaction)
  }

  /** Hands an idle connection back, the line staying open for later statements. */
  lend(): void {
    const client = this.#client
    if (client === undefined || this.#inFlight > 0 || this.#inTransaction) return
    this.#client = undefined
    handBack(client, false)
  }

  #discard(): void {
    if (this.#client !== undefined) handBack(this.#client, true)
    this.#client = undefined
  }

  /** A connection that arrives after the request gave up (its deadline came, it has answered) goes straight back. */
  #refuseIfClosed(client: PoolClient, attempt: AbortSignal): void {
    // Or after its attempt was abandoned (the deadline, the stale budget): another waiter may want it.
    if (!this.#closed && !attempt.aborted) return
    handBack(client, false)
    throw new LateConnection('connection arrived after the request ended')
  }

  async #acquire(attempt: AbortSignal): Promise<PoolClient> {
    if (this.#client !== undefined) {
      // One that failed since it was taken (the server closed it while the request hashed a
      // password) gets nothing more: what would go on it goes on a new one instead.
      if (!failedClients.has(this.#client)) return this.#client
      this.#discard()
    }
    let client: PoolClient
    const waitStarted = performance.now()
    const { pool } = this.#target
    this.#waiting = true
    try {
      client = takeOver(await pool.connect(), pool)
    } catch (error) {
      const kind = classifyFailure(error, 'acquire')
      // Known a second or more after the connect timeout (the pool's, or the client's own:
      // "connection timeout"): the instance was frozen meanwhile (its request answered, the
      // connection still opening) or starved of CPU.
      const overdue = performance.now() - waitStarted > (pool.options.connectionTimeoutMillis ?? 0) + OVERDUE_MS
      throw new DatabaseFailure(kind === 'pool_timeout' && exhausted(pool) ? 'pool_exhausted' : kind, error, overdue)
    } finally {
      this.#waiting = false
      this.#metrics.dbWaitMs += performance.now() - waitStarted
    }
    this.#refuseIfClosed(client, attempt)
    const released = lastReleased.get(client)
    if (released !== undefined && (Date.now() - released > this.#options.idleCheckMs || released <= (recoveredAt.get(pool) ?? 0))) {
      try {
        // Its own timeout, not the statement timeout: a socket that died while the instance was
        // frozen never answers. (pg takes a per-query `query_timeout` only from submittable queries.)
        await within(client.query('SELECT 1'), this.#options.pingTimeoutMs, 'a ping')
      } catch (error) {
        // The ping carried nothing of the caller's: as if no connection had opened.
        handBack(client, true)
        throw new DatabaseFailure('connect_failed', error)
      }
    }
    this.#refuseIfClosed(client, attempt)
    this.#client = client
    return client
  }

  /** What an attempt abandoned at the deadline was doing, when it waited on this instance's busy pool. */
  #abandoned(): FailureKind | undefined {
    return this.#waiting && exhausted(this.#target.pool) ? 'pool_exhausted' : undefined
  }

  /** One statement on `client`; a failure that leaves the connection in doubt discards it. */
  async #send<R extends QueryResultRow>(client: PoolClient, sql: string, params: unknown[]): Promise<Rows<R>> {
    this.#inFlight++
    const tracer = this.#options.tracer
    const startedMs = tracer === undefined ? 0 : Date.now()
    let failure: 'error' | 'fault' | undefined
    try {
      const result = await client.query<R>(sql, params)
      return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length }
    } catch (error) {
      const kind = classifyFailure(error, 'query')
      failure = answered(kind) ? 'error' : 'fault'
      if (!answered(kind) && this.#client === client) this.#discard()
      throw new DatabaseFailure(kind, error)
    } finally {
      this.#inFlight--
      tracer?.statement({ startS: startedMs / 1000, endS: Date.now() / 1000, sql, database: this.#target.label ?? 'postgres', failure })
    }
  }

  /**
   * Ends a run of a request that changes data once it has waited `waitBudgetMs` on the database
   * where giving up is safe: for a connection, or for a read (`cuttable` says when). Otherwise
   * it looks again a little later. Without a budget, only the request's own `abandoned` signal.
   */
  #budget(cuttable: () => boolean): { readonly signal: AbortSignal | undefined; stop(): void } {
    const { waitBudgetMs, abandoned } = this.#options
    if (waitBudgetMs === undefined) return { signal: abandoned, stop: NOTHING }
    const cut = new AbortController()
    const check = () => {
      if (cuttable()) cut.abort()
      else timer = setTimeout(check, RECHECK_MS)
    }
    let timer = setTimeout(check, waitBudgetMs)
    return { signal: abandoned === undefined ? cut.signal : AbortSignal.any([abandoned, cut.signal]), stop: () => clearTimeout(timer) }
  }

  /** Waiting for a connection that the database, not this instance's own busy pool, is slow to give. */
  #waitingOnDatabase(): boolean {
    return this.#waiting && !exhausted(this.#target.pool)
  }

  run<R extends QueryResultRow>(operation: Operation, sql: string, params: unknown[], remainingMs: () => number): Promise<Rows<R>> {
    if (this.#inTransaction) return Promise.reject(new Error('a statement on the session while its transaction is open: send it with the transaction\'s `tx`'))
    this.#metrics.dbUsed = true
    let attempts = 0
    const budget = this.#budget(() => this.#waitingOnDatabase() || (operation === 'read' && this.#inFlight > 0))
    return this.#target.resilience
      .run(
        operation,
        remainingMs,
        async (attempt) => {
          if (attempts++ > 0) this.#metrics.dbRetries++
          return this.#send<R>(await this.#acquire(attempt), sql, params)
        },
        { abandoned: () => this.#abandoned(), signal: budget.signal },
      )
      .finally(budget.stop)
  }

  transaction<T>(work: (tx: Transaction) => Promise<T>, options: TransactionOptions, remainingMs: () => number): Promise<T> {
    if (this.#inTransaction) return Promise.reject(new Error('a transaction inside a transaction: send its statements with the outer one\'s `tx`'))
    this.#metrics.dbUsed = true
    const begin = options.isolation === undefined ? 'BEGIN' : `BEGIN ISOLATION LEVEL ${options.isolation.toUpperCase()}`
    let attempts = 0
    let commitSent = false
    // Before COMMIT, anything that a read may retry: the database rolled the transaction back
    // (a conflict) or will (the connection is gone). After it, only a conflict: COMMIT refused.
    const retryable = (failure: DatabaseFailure) => failure.kind === 'conflict' || (!commitSent && isRetryable(failure.kind, 'read'))
    // Only a wait for a connection is cut at the budget: once BEGIN is sent, the database is answering.
    const budget = this.#budget(() => this.#waitingOnDatabase())
    return this.#target.resilience.run(
      'write',
      remainingMs,
      async (deadline) => {
        if (attempts++ > 0) this.#metrics.dbRetries++
        commitSent = false
        const client = await this.#acquire(deadline)
        let open = true
        const ended = () => new Error(deadline.aborted ? 'the request\'s deadline came: the transaction is abandoned' : 'a statement after its transaction ended')
        // An error the database answered reaches `work` as the driver threw it (its SQLSTATE in
        // `code`), as it does from `read` and `write`.
        const tx: Transaction = {
          query: async <R extends QueryResultRow>(sql: string, params: unknown[] = []) => {
            if (!open || deadline.aborted) throw ended()
            try {
              return await this.#send<R>(client, sql, params)
            } catch (error) {
              throw error instanceof DatabaseFailure && answered(error.kind) ? error.cause : error
            }
          },
        }
        this.#inTransaction = true
        try {
          await this.#send(client, begin, [])
          const value = await work(tx)
          // Past the deadline the request has answered 503: what it did is not committed after.
          if (deadline.aborted) throw ended()
          commitSent = true
          await this.#send(client, 'COMMIT', [])
          return value
        } catch (thrown) {
          // A conflict is retried, however `work` passed it on.
          const error = !(thrown instanceof DatabaseFailure) && classifyFailure(thrown, 'query') === 'conflict' ? new DatabaseFailure('conflict', thrown) : thrown
          if (!commitSent) await this.#rollBack(client, error)
          throw error
        } finally {
          // Committed, rolled back, or its connection closed. (One abandoned at the deadline is
          // still open until here: release() closes its connection, which rolls it back.)
          open = false
          this.#inTransaction = false
        }
      },
      { retryable, abandoned: () => this.#abandoned(), signal: budget.signal },
    ).finally(budget.stop)
  }

  /** Ends a failed transaction: ROLLBACK where the connection is still good, else it is closed. */
  async #rollBack(client: PoolClient, error: unknown): Promise<void> {
    if (this.#client !== client) return // discarded: closing it rolled the transaction back
    if (error instanceof DatabaseFailure && !answered(error.kind)) return this.#discard()
    try {
      await this.#send(client, 'ROLLBACK', [])
    } catch {
      if (this.#client === client) this.#discard()
    }
  }
}
