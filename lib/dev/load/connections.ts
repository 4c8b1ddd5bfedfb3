/**
 * How many database connections the functions hold, sampled while the load runs. On
 * PostgreSQL, from `pg_stat_activity`; on the embedded PGlite, which serves every connection
 * from one backend, from the fault proxy that every function connection passes through.
 */
import pg from 'pg'

export interface ConnectionCounter {
  /** Where the count comes from, for the report. */
  readonly source: string
  count(): Promise<number>
  close(): Promise<void>
}

export interface ConnectionSample {
  readonly at: number
  readonly count: number
}

/**
 * Client backends of `url`'s database, other than the sampler's own; only those that say
 * `applicationName` when one is given.
 */
export async function pgStatActivity(url: string, applicationName?: string): Promise<ConnectionCounter> {
  const client = new pg.Client({ connectionString: url, application_name: 'users-api-load-sampler', connectionTimeoutMillis: 5_000 })
  client.on('error', () => undefined)
  await client.connect()
  const sql =
    applicationName === undefined
      ? `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = current_database() AND pid <> pg_backend_pid()`
      : `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`
  const params = applicationName === undefined ? [] : [applicationName]
  return {
    source: applicationName === undefined ? 'pg_stat_activity (client backends of the database)' : `pg_stat_activity (application_name ${applicationName})`,
    async count() {
      const { rows } = await client.query<{ n: number }>(sql, params)
      return rows[0]?.n ?? 0
    },
    close: () => client.end().catch(() => undefined),
  }
}

export interface SamplingOptions {
  readonly counter: ConnectionCounter
  readonly samples: ConnectionSample[]
  /** The run's clock: `performance.now()` when it started. */
  readonly startedAt: number
  readonly everyMs?: number
}

/** Samples the counter every 100 ms into `samples` until stopped; a failed sample is skipped. */
export function sampleConnections({ counter, samples, startedAt, everyMs = 100 }: SamplingOptions): () => Promise<void> {
  let running: Promise<void> | undefined
  const timer = setInterval(() => {
    if (running !== undefined) return // the last sample has not come back yet
    const at = performance.now() - startedAt
    running = counter
      .count()
      .then((count) => void samples.push({ at, count }))
      .catch(() => undefined)
      .finally(() => (running = undefined))
  }, everyMs)
  return async () => {
    clearInterval(timer)
    await running
  }
}
