/**
 * Per-statement latency of the toolkit's transport (lib/db/transport.ts) against the Neon
 * driver at its defaults and node-postgres over TCP, in one run: a loop of one-row SELECTs,
 * one at a time, each variant on its own connection, interleaved in rounds (a few statements
 * of each in turn) so that whatever the machine does meanwhile falls on all of them alike.
 * The medians of the per-round figures are printed.
 *
 *   - Neon driver, defaults      its writes batched by a setTimeout(…, 0): at least 1 ms on Node
 *   - Neon driver, unbatched     `coalesceWrites: false`: one WebSocket message per write
 *   - ours                       createPool(): the batching socket, one message per statement
 *   - node-postgres, TCP         straight to the database
 *   - node-postgres, TCP relay   through a plain TCP relay in this process: the extra hop
 *                                that the WebSocket proxy adds, without the WebSocket
 *
 * The three Neon variants go through the local WebSocket proxy (in this process, as in `npm
 * run dev` and the tests); on Lambda the proxy is Neon's, across the network.
 *
 *   npm run bench:statements [-- --rounds 15 --per-round 500 --block 25]
 *   DATABASE_URL=postgres://... npm run bench:statements
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import { parseArgs } from 'node:util'
import { Pool as NeonPool } from '@neondatabase/serverless'
import pg from 'pg'
import { createPool } from '../lib/db/pool.ts'
import { startTestDatabase } from '../tests/support/database.ts'
import { median } from './stats.ts'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' }, 'per-round': { type: 'string', default: '500' }, block: { type: 'string', default: '25' } } })
const rounds = Number(values.rounds)
const perRound = Number(values['per-round'])
/** Statements a variant runs before the next one's turn: one backend each, kept busy for a while as a request would. */
const block = Number(values.block)

const database = await startTestDatabase()
const target = new URL(database.url)

// A plain TCP relay to the database: what a proxy hop costs, without the WebSocket.
const relayed = new Set<Socket>()
const relay = createServer((client) => {
  const upstream = connect(Number(target.port || 5432), target.hostname)
  for (const socket of [client, upstream]) {
    socket.setNoDelay(true)
    relayed.add(socket)
    socket.on('error', () => undefined)
  }
  client.pipe(upstream).pipe(client)
})
await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
const relayUrl = new URL(database.url)
relayUrl.host = `127.0.0.1:${(relay.address() as AddressInfo).port}`

interface Queryable {
  query(sql: string, args: unknown[]): Promise<{ rows: { n: number }[] }>
  end(): Promise<void>
}

const unbatched = new NeonPool({ connectionString: database.url, max: 1 })
unbatched.on('connect', (client: { neonConfig: { coalesceWrites: boolean } }) => (client.neonConfig.coalesceWrites = false))
const variants: Record<string, Queryable> = {
  'Neon driver, defaults': new NeonPool({ connectionString: database.url, max: 1 }),
  'Neon driver, unbatched': unbatched,
  'ours (batching socket)': createPool({ url: database.url, max: 1 }),
  'node-postgres, TCP': new pg.Pool({ connectionString: database.url, max: 1 }),
  'node-postgres, TCP relay': new pg.Pool({ connectionString: relayUrl.toString(), max: 1 }),
}
const names = Object.keys(variants)

// Connected, and the same answer from each.
for (const [name, pool] of Object.entries(variants)) {
  const { rows } = await pool.query('SELECT $1::int AS n', [7])
  if (rows[0]?.n !== 7) throw new Error(`${name} answered ${JSON.stringify(rows)}`)
}

/** Microseconds per statement of each variant in one round, their loops interleaved `block` statements at a time, in an order that rotates. */
async function round(): Promise<number[]> {
  const spent = names.map(() => 0)
  for (let i = 0; i < perRound; i += block) {
    for (let k = 0; k < names.length; k++) {
      const index = (i / block + k) % names.length
      const pool = variants[names[index] as string] as Queryable
      const start = performance.now()
      for (let j = 0; j < block; j++) await pool.query('SELECT $1::int AS n', [i + j])
      spent[index] = (spent[index] as number) + performance.now() - start
    }
  }
  return spent.map((ms) => (ms / perRound) * 1000)
}

await round() // warm-up: JIT, plans
const samples: number[][] = []
for (let r = 0; r < rounds; r++) samples.push(await round())

const column = (index: number) => samples.map((row) => row[index] as number)
const ratio = (of: number, to: number) => median(samples.map((row) => (row[of] as number) / (row[to] as number)))
const index = (name: string) => names.indexOf(name)
const ours = index('ours (batching socket)')
const tcp = index('node-postgres, TCP')
const relayIndex = index('node-postgres, TCP relay')

console.log(`per-statement latency, SELECT $1::int, one at a time (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}, Node ${process.version}), ${rounds} rounds x ${perRound} statements per variant, interleaved ${block} at a time; medians`)
for (const [i, name] of names.entries()) console.log(`  ${name.padEnd(28)} ${median(column(i)).toFixed(0).padStart(6)} us`)
const hop = median(samples.map((row) => (row[relayIndex] as number) - (row[tcp] as number)))
const rest = median(samples.map((row) => (row[ours] as number) - (row[relayIndex] as number)))
console.log(`  ours / node-postgres, TCP           ${ratio(ours, tcp).toFixed(2)}x  target <= 1.3x: ${ratio(ours, tcp) <= 1.3 ? 'met' : 'MISSED'}`)
console.log(`  ours / node-postgres, TCP relay     ${ratio(ours, relayIndex).toFixed(2)}x  (the same hop count)`)
console.log(`  defaults / ours                     ${ratio(index('Neon driver, defaults'), ours).toFixed(1)}x`)
console.log(`  the relay hop alone (relay - TCP)   ${hop.toFixed(0)} us; WebSocket framing and the driver (ours - relay) ${rest.toFixed(0)} us`)

for (const pool of Object.values(variants)) await pool.end()
for (const socket of relayed) socket.destroy()
relay.close()
await database.close()
