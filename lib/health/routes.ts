import * as v from 'valibot'
import { dbPool } from '../db/database.ts'
import type { Pool } from '../db/pool.ts'
import { within } from '../db/timeout.ts'
import { route } from '../http/route.ts'

/** How long the health check waits for the database before it reports "degraded". */
const PING_TIMEOUT_MS = 2_000

function databaseAnswers(pool: Pool): Promise<boolean> {
  return within(pool.query('SELECT 1'), PING_TIMEOUT_MS, 'the health check').then(
    () => true,
    () => false,
  )
}

/** 200 either way: the function is up; `degraded` says its database is not answering. */
export const health = route({
  method: 'GET',
  path: '/health',
  summary: 'Service health',
  tags: ['health'],
  dependencies: { pool: dbPool },
  response: v.object({ status: v.picklist(['ok', 'degraded']) }),
  async handler({ deps }) {
    return { status: (await databaseAnswers(deps.pool)) ? 'ok' : 'degraded' } as const
  },
})
