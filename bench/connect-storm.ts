/**
 * What it costs this machine when every instance opens a connection at once, as they all do
 * when the database comes back after an outage: N new connections through the Neon driver
 * and the local WebSocket proxy, opened together (each with a pool of its own, as N
 * instances have), against one alone. Prints, for each N, the time each connection took to
 * open (p50, max) and the time until all had answered a `SELECT 1`. One process opens them
 * all, so this is a floor: the emulator's instances are processes of their own, and share
 * the same two cores with the load.
 *
 *   npm run bench:connect-storm [-- --counts 1,10,20,50 --rounds 3]
 *   DATABASE_URL=postgres://... npm run bench:connect-storm   (a PostgreSQL server instead of PGlite)
 */
import { parseArgs } from 'node:util'
import { configureDriver } from '../lib/db/driver.ts'
import { createPool } from '../lib/db/pool.ts'
import { spread } from '../lib/dev/load/report.ts'
import { startWsProxy } from '../lib/dev/ws-proxy.ts'
import { startTestDatabase } from '../tests/support/database.ts'

const { values } = parseArgs({ options: { counts: { type: 'string', default: '1,10,20,50' }, rounds: { type: 'string', default: '3' } } })
const counts = values.counts.split(',').map(Number)
const rounds = Number(values.rounds)

const database = await startTestDatabase()
const target = new URL(database.url)
const proxy = await startWsProxy({ allow: [`${target.hostname}:${target.port || '5432'}`] })
await configureDriver({ mode: 'local', wsProxy: proxy.address })

console.log(`connections opened at once through the local WebSocket proxy (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}), ${rounds} rounds each`)
console.log('  at once   open p50   open max   all answered')
for (const count of counts) {
  for (let round = 0; round < rounds; round++) {
    const pools = Array.from({ length: count }, () => createPool({ url: database.url, max: 1, connectionTimeoutMillis: 30_000 }))
    const started = performance.now()
    const opened = await Promise.all(
      pools.map(async (pool) => {
        const asked = performance.now()
        const client = await pool.connect()
        const took = performance.now() - asked
        await client.query('SELECT 1')
        client.release()
        return took
      }),
    )
    const all = performance.now() - started
    await Promise.all(pools.map((pool) => pool.end()))
    const { p50, max } = spread(opened)
    const ms = (value: number) => `${value.toFixed(0)} ms`.padStart(9)
    console.log(`  ${String(count).padStart(7)}  ${ms(p50)}  ${ms(max)}  ${ms(all).padStart(13)}`)
  }
}
await proxy.close()
await database.close()
