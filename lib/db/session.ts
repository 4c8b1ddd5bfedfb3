/**
 * A request's database session: one pooled connection, taken on the first statement (a
 * request that fails validation never takes one) and released after the response. Each
 * statement runs under the resilience policy: `read` is retried on any passing outage, on a
 * fresh connection when the old one died; `write` only when it certainly never reached the
 * database. A connection that sat idle past the threshold (a Lambda instance frozen between
 * invocations) is checked with a ping before it is trusted.
 */
import type { PoolClient, QueryResultRow } from '@neondatabase/serverless'
import { DatabaseFailure, classifyFailure } from './failures.ts'
import type { Pool } from './pool.ts'
import type { Operation, Resilience } from './resilience.ts'

export interface SessionOptions {
  readonly pool: Pool
  readonly resilience: Resilience
  /** Time left before the request's deadline. */
  readonly remainingMs: () => number
  /** A connection idle longer than this is pinged before use. */
  readonly idleCheckMs: number
}

export interface Rows<R> {
  readonly rows: R[]
  readonly rowCount: number
}

/** When each connection was last handed back, to know how long it has sat idle. */
const lastReleased = new WeakMap<PoolClient, number>()

export class Session {
  readonly #options: SessionOptions
  #client: PoolClient | undefined
  /** Set once the request is done: a connection that arrives after that goes straight back. */
  #closed = false
  /** Statements sent and not yet answered (one abandoned at the deadline may still be running). */
  #inFlight = 0

  constructor(options: SessionOptions) {
    this.#options = options
  }

  /** A statement that changes nothing: retried on any outage. */
  read<R extends QueryResultRow = QueryResultRow>(sql: string, params: unknown[] = []): Promise<Rows<R>> {
    return this.#run<R>('read', sql, params)
  }

  /** A statement that changes data: retried only when it never reached the database. */
  write<R extends QueryResultRow = QueryResultRow>(sql: string, params: unknown[] = []): Promise<Rows<R>> {
    return this.#run<R>('write', sql, params)
  }

  /** Hands the connection back; a failed request's connection is closed, not reused. */
  release(failed = false): void {
    this.#closed = true
    const client = this.#client
    this.#client = undefined
    if (client === undefined) return
    // A connection with a statement still running on it cannot be handed to the next request.
    const broken = failed || this.#inFlight > 0
    if (!broken) lastReleased.set(client, Date.now())
    client.release(broken)
  }

  #discard(): void {
    this.#client?.release(true)
    this.#client = undefined
  }

  async #acquire(): Promise<PoolClient> {
    if (this.#client !== undefined) return this.#client
    let client: PoolClient
    try {
      client = await this.#options.pool.connect()
    } catch (error) {
      throw new DatabaseFailure(classifyFailure(error, 'acquire'), error)
    }
    if (this.#closed) {
      // The request gave up waiting (its deadline came) and has answered already.
      client.release()
      throw new DatabaseFailure('pool_timeout', new Error('connection arrived after the request ended'))
    }
    const released = lastReleased.get(client)
    if (released !== undefined && Date.now() - released > this.#options.idleCheckMs) {
      try {
        await client.query('SELECT 1')
      } catch (error) {
        // The ping carried nothing of the caller's: as if no connection had opened.
        client.release(true)
        throw new DatabaseFailure('connect_failed', error)
      }
    }
    if (this.#closed) {
      client.release()
      throw new DatabaseFailure('pool_timeout', new Error('connection arrived after the request ended'))
    }
    this.#client = client
    return client
  }

  #run<R extends QueryResultRow>(operation: Operation, sql: string, params: unknown[]): Promise<Rows<R>> {
    const { resilience, remainingMs } = this.#options
    return resilience.run(operation, remainingMs, async () => {
      const client = await this.#acquire()
      this.#inFlight++
      try {
        const result = await client.query<R>(sql, params)
        return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length }
      } catch (error) {
        const kind = classifyFailure(error, 'query')
        if (kind !== 'query_error' && this.#client === client) this.#discard()
        throw new DatabaseFailure(kind, error)
      } finally {
        this.#inFlight--
      }
    })
  }
}
