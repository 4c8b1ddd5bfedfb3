/**
 * What went wrong with the database, in the terms that decide what to do next. The Neon
 * driver is node-postgres inside: a pool timeout is a plain `Error('timeout exceeded when
 * trying to connect')`, a WebSocket that fails arrives as an `ErrorEvent` or as
 * "Connection terminated unexpectedly", and an SQL error carries a five-character SQLSTATE.
 * The phase (taking a connection, or running a statement on one) tells a connection that
 * never opened from one lost mid-query.
 */
export type FailureKind =
  /** No connection became free in time: nothing was sent. */
  | 'pool_timeout'
  /**
   * No connection became free in time because this instance's own requests held them all the
   * while: nothing was sent, and the database is not to blame (it is not an outage).
   */
  | 'pool_exhausted'
  /** A new connection could not be opened: nothing was sent. */
  | 'connect_failed'
  /** The connection died while a statement was on it: it may have run. */
  | 'connection_lost'
  /** No answer in the query timeout: it may have run, and the socket may be dead. */
  | 'query_timeout'
  /** The circuit breaker is open: the database was not tried. */
  | 'circuit_open'
  /**
   * A serialization failure (40001) or a deadlock (40P01): the database rolled the statement
   * (or the transaction) back, so running it again is safe and may well succeed.
   */
  | 'conflict'
  /** The database answered with an error (a constraint, bad SQL): it ran, and failed. */
  | 'query_error'

export type Phase = 'acquire' | 'query'

/** SQLSTATEs of a statement rolled back because of other transactions: serialization failure, deadlock. */
const CONFLICT_SQLSTATES = new Set(['40001', '40P01'])

/** SQLSTATEs that mean the connection went away rather than that the statement was wrong. */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004'])

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  if (typeof error === 'object' && error !== null && 'message' in error) return String((error as { message: unknown }).message)
  return String(error)
}

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

export function classifyFailure(error: unknown, phase: Phase): FailureKind {
  if ((error as { isBrokenCircuitError?: boolean } | null)?.isBrokenCircuitError) return 'circuit_open'
  const message = messageOf(error)
  if (phase === 'acquire') return /timeout exceeded when trying to connect/i.test(message) ? 'pool_timeout' : 'connect_failed'
  const state = sqlState(error)
  if (state !== undefined) return CONNECTION_SQLSTATES.has(state) ? 'connection_lost' : CONFLICT_SQLSTATES.has(state) ? 'conflict' : 'query_error'
  if (/query read timeout/i.test(message)) return 'query_timeout'
  return 'connection_lost'
}

/** Whether trying again can help, and cannot apply a write twice. */
export function isRetryable(kind: FailureKind, operation: 'read' | 'write'): boolean {
  if (kind === 'pool_timeout' || kind === 'pool_exhausted' || kind === 'connect_failed' || kind === 'conflict') return true
  return operation === 'read' && (kind === 'connection_lost' || kind === 'query_timeout')
}

/** A failure that the breaker counts: the database (or the way to it) is not answering. */
export function isOutage(kind: FailureKind): boolean {
  return kind === 'pool_timeout' || kind === 'connect_failed' || kind === 'connection_lost' || kind === 'query_timeout'
}

/** A database failure with its kind, as the resilience layer passes it on. */
export class DatabaseFailure extends Error {
  override name = 'DatabaseFailure'
  readonly kind: FailureKind
  /**
   * A timeout that fired long after it was due: the process was frozen meanwhile (a Lambda
   * instance between two invocations) or starved of CPU. It says nothing of the database.
   */
  readonly overdue: boolean

  constructor(kind: FailureKind, cause: unknown, overdue = false) {
    super(`${kind}: ${messageOf(cause)}`, { cause })
    this.kind = kind
    this.overdue = overdue
  }
}
