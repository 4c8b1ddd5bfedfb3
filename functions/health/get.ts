// GET /health: 200 either way, the function is up; `degraded` says its database is not
// answering, or the instance is degrading answers (stale, 503). Known to be degraded, it
// answers without a ping: health checks neither wait on nor take a connection from the
// probe that finds the database back, and a ping that succeeds never closes the breaker.
import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { dbPool, degraded } from '../../lib/db/database.ts'
import { within } from '../../lib/db/timeout.ts'
import type { AppEnv } from '../../lib/http/env.ts'
import { lambdaFunction } from '../../lib/http/lambda.ts'
import { describe, needs, responds } from '../../lib/http/route.ts'

/** How long the health check waits for the database before it reports "degraded". */
const PING_TIMEOUT_MS = 2_000

export const route = new Hono<AppEnv>().get(
  '/health',
  describe({ summary: 'Service health', tags: ['health'] }),
  needs({ pool: dbPool, degraded }),
  responds(v.object({ status: v.picklist(['ok', 'degraded']) })),
  async (c) => {
    if (c.var.degraded) return c.var.respond({ status: 'degraded' })
    const answers = await within(c.var.pool.query('SELECT 1'), PING_TIMEOUT_MS, 'the health check').then(
      () => true,
      () => false,
    )
    return c.var.respond({ status: answers ? 'ok' : 'degraded' })
  },
)

export const { handler, shutdown, app } = await lambdaFunction(route)
