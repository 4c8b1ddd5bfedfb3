/**
 * The Redis of the shared cache tier's tests: REDIS_URL, or the machine's own. Where none
 * answers, those tests are skipped, except in CI, which starts one and must run them.
 */
import { connect } from 'node:net'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

async function redisAnswers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 6379), timeout: 500 })
    socket.once('connect', () => {
      socket.end()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

/** `skip` for a test that needs Redis: false when it answers (or in CI), else why not. */
export async function skipWithoutRedis(): Promise<false | string> {
  return !(await redisAnswers(REDIS_URL)) && !process.env.CI ? `no Redis at ${REDIS_URL}` : false
}
