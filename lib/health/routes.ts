import { Hono } from 'hono'
import type { AppEnv } from '../http/app.ts'
import type { Pool } from '../db/pool.ts'

/** How long the health check waits for the database before it reports "degraded". */
const PING_TIMEOUT_MS = 2_000

async function databaseAnswers(pool: Pool): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS)
  })
  const ping = pool.query('SELECT 1').then(
    () => true,
    () => false,
  )
  try {
    return await Promise.race([ping, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** 200 either way: the function is up; `degraded` says its database is not answering. */
export const health = new Hono<AppEnv>().get('/health', async (c) => {
  const ok = await databaseAnswers(c.var.state.pool)
  return c.json({ status: ok ? 'ok' : 'degraded' })
})
