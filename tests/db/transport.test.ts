/**
 * The toolkit's transport (lib/db/transport.ts): what the driver writes for one statement
 * leaves as one WebSocket message, at once, with no timer to wait for; large writes and large
 * results arrive whole; a connection's last message (Terminate) is sent before its socket
 * closes. Counted where the bytes go, at the local proxy.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it, mock } from 'node:test'
import WebSocket, { WebSocketServer } from 'ws'
import { Pool as NeonPool } from '@neondatabase/serverless'
import type { DevDatabase } from '../../lib/dev/database.ts'
import type { WireCount } from '../../lib/dev/ws-proxy.ts'
import { createPool, type Pool } from '../../lib/db/pool.ts'
import { batchingWebSocket } from '../../lib/db/transport.ts'
import { connectionsClosed, startTestDatabase } from '../support/database.ts'

describe('the transport', () => {
  let database: DevDatabase
  let wire: Readonly<WireCount>
  let pool: Pool

  before(async () => {
    database = await startTestDatabase()
    wire = database.wire as Readonly<WireCount>
    pool = createPool({ url: database.url, max: 1 })
    await pool.query('SELECT 1') // connected: what follows counts statements only
  })

  after(async () => {
    await pool.end()
    await database.close()
  })

  /** Messages and statements the proxy relayed while `work` ran. */
  async function counted(work: () => Promise<unknown>): Promise<{ messages: number; statements: number }> {
    const before = { ...wire }
    await work()
    return { messages: wire.messages - before.messages, statements: wire.statements - before.statements }
  }

  it('sends each statement as one message', async () => {
    const sent = await counted(async () => {
      for (let i = 0; i < 20; i++) assert.equal((await pool.query('SELECT $1::int AS n', [i])).rows[0].n, i)
    })
    assert.deepEqual(sent, { messages: 20, statements: 20 })
  })

  it('sends without waiting for a timer (the driver\'s own batching waits for one)', async () => {
    const defaults = new NeonPool({ connectionString: database.url, max: 1 })
    await defaults.query('SELECT 1')
    mock.timers.enable({ apis: ['setTimeout'] })
    try {
      // With timers stopped, ours is answered; the driver's default is not sent until one fires.
      const answered = pool.query('SELECT 42 AS n')
      assert.equal(await Promise.race([answered.then(({ rows }) => rows[0].n), realDelay(10_000).then(() => 'not sent')]), 42)
      const stuck = defaults.query('SELECT 43 AS n')
      assert.equal(await Promise.race([stuck.then(() => 'answered'), realDelay(300).then(() => 'waiting')]), 'waiting')
      mock.timers.tick(1)
      assert.equal((await stuck).rows[0].n, 43)
    } finally {
      mock.timers.reset()
      // Its Terminate goes out from a timer too: counted before the next test counts.
      await defaults.end()
      await connectionsClosed(wire, 1)
    }
  })

  it('carries a large write and a large result whole', async () => {
    const data = randomBytes(1024 * 1024)
    const sent = await counted(async () => {
      const { rows } = await pool.query<{ hash: string; size: number }>('SELECT md5($1::bytea) AS hash, octet_length($1::bytea) AS size', [data])
      assert.deepEqual(rows[0], { hash: createHash('md5').update(data).digest('hex'), size: data.length })
    })
    assert.deepEqual(sent, { messages: 1, statements: 1 })
    const { rows } = await pool.query<{ text: string }>("SELECT repeat('abcdefgh', 1024 * 1024) AS text")
    assert.equal(rows[0]?.text.length, 8 * 1024 * 1024)
    assert.equal(rows[0]?.text.slice(-8), 'abcdefgh')
  })

  it('sends a connection\'s Terminate, so that the database ends it', async () => {
    const own = createPool({ url: database.url, max: 1 })
    await own.query('SELECT 1')
    const sent = { ...wire }
    await own.end()
    await connectionsClosed(wire, 1) // the database ended it: only the suite's own is left
    assert.deepEqual({ messages: wire.messages - sent.messages, statements: wire.statements - sent.statements }, { messages: 1, statements: 0 })
  })
})

describe('the batching WebSocket', () => {
  let server: WebSocketServer
  let url: string
  const received: Buffer[] = []

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    server.on('connection', (socket) => socket.on('message', (data: Buffer) => received.push(data)))
    await once(server, 'listening')
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('joins what one task sends into one message, in order, and sends it before a close', async () => {
    const Batching = batchingWebSocket(WebSocket as unknown as new (url: string) => globalThis.WebSocket)
    const socket = new Batching(url)
    await new Promise((resolve) => socket.addEventListener('open', resolve))
    socket.send(Uint8Array.of(1, 2))
    socket.send(Uint8Array.of(3))
    socket.send(Uint8Array.of(4, 5, 6))
    await Promise.resolve()
    socket.send(Uint8Array.of(7))
    socket.close()
    await new Promise((resolve) => socket.addEventListener('close', resolve))
    assert.deepEqual(received.map((data) => [...data]), [[1, 2, 3, 4, 5, 6], [7]])
  })
})

/** A delay that a mocked setTimeout does not stop: the event loop turns (I/O is served) until it is over. */
function realDelay(ms: number): Promise<void> {
  const started = Date.now()
  return new Promise((resolve) => {
    const turn = () => (Date.now() - started >= ms ? resolve() : setImmediate(turn))
    turn()
  })
}
