import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Client } from '@neondatabase/serverless'
import { openDevDatabase, type DevDatabase } from '../../lib/dev/database.ts'
import { terminateWatcher } from '../../lib/dev/pglite-server.ts'

function message(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5)
  header.write(type, 0, 'latin1')
  header.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([header, body])
}

function startup(code: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8)
  header.writeInt32BE(body.length + 8, 0)
  header.writeInt32BE(code, 4)
  return Buffer.concat([header, body])
}

const SSL_REQUEST = startup(80877103)
const STARTUP = startup(196608, Buffer.from('user\0postgres\0database\0postgres\0\0'))
const TERMINATE = message('X')

function watch(chunks: Buffer[]): number {
  let calls = 0
  const feed = terminateWatcher(() => calls++)
  for (const chunk of chunks) feed(chunk)
  return calls
}

describe('terminateWatcher', () => {
  it('sees Terminate after the startup and a query', () => {
    assert.equal(watch([STARTUP, message('Q', Buffer.from('SELECT 1\0')), TERMINATE]), 1)
  })

  it('sees Terminate after an SSL request', () => {
    assert.equal(watch([SSL_REQUEST, STARTUP, TERMINATE]), 1)
  })

  it('follows messages split across chunks, a byte at a time', () => {
    const stream = Buffer.concat([STARTUP, message('Q', Buffer.from('SELECT 1\0')), TERMINATE])
    assert.equal(watch([...stream].map((byte) => Buffer.from([byte]))), 1)
  })

  it('does not mistake an X inside a message body for Terminate', () => {
    const body = Buffer.alloc(70_000, 'X')
    assert.equal(watch([STARTUP, message('Q', body.subarray(0, 100)), message('d', body)]), 0)
    assert.equal(watch([STARTUP, message('d', body), TERMINATE]), 1)
  })
})

describe('embedded PGlite over the Postgres protocol', () => {
  let database: DevDatabase
  before(async () => {
    database = await openDevDatabase({ databaseUrl: undefined, dataDir: 'memory://', pglitePort: 0 })
  })
  after(async () => {
    await database?.close()
  })

  it('closes the connection on Terminate, so the Neon client can end', async () => {
    const client = new Client({ connectionString: database.url })
    await client.connect()
    assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }])
    const ended = client.end().then(() => 'ended')
    const timeout = new Promise((resolve) => setTimeout(resolve, 5_000, 'still open after 5 s')).then(String)
    assert.equal(await Promise.race([ended, timeout]), 'ended')
  })

  it('serves several connections at once', async () => {
    const clients = Array.from({ length: 4 }, () => new Client({ connectionString: database.url }))
    await Promise.all(clients.map((client) => client.connect()))
    const answers = await Promise.all(clients.map((client, i) => client.query('SELECT $1::int AS i', [i])))
    assert.deepEqual(
      answers.map((answer) => answer.rows[0]?.i),
      [0, 1, 2, 3],
    )
    await Promise.all(clients.map((client) => client.end()))
  })
})
