/**
 * PGlite served over the Postgres wire protocol on loopback, for the functions (through the
 * WebSocket proxy) and for psql.
 *
 * pglite-socket's server does the protocol work, but unlike a real Postgres it leaves a
 * connection open after the client's Terminate message. node-postgres closes its end
 * anyway; the Neon driver waits for the server to close, so `client.end()` and `pool.end()`
 * would hang. A thin TCP front watches the client's messages and closes the connection on
 * Terminate, as a Postgres backend does. It also closes its connections on stop, which the
 * inner server does not (electric-sql/pglite#678).
 */
import { createServer, connect, type Socket } from 'node:net'
import type { PGlite } from '@electric-sql/pglite'

export interface PgliteServer {
  /** `host:port` of the Postgres protocol endpoint. */
  readonly address: string
  close(): Promise<void>
}

export interface PgliteServerOptions {
  readonly db: PGlite
  readonly host: string
  readonly port: number
}

const TERMINATE = 0x58 // 'X'
const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104

/**
 * Follows the frontend message stream (a startup phase of untyped messages, then typed
 * ones) and calls `onTerminate` when a Terminate message starts. Message bodies are
 * skipped, not buffered.
 */
export function terminateWatcher(onTerminate: () => void): (chunk: Buffer) => void {
  let startup = true
  let skip = 0
  let header: Buffer = Buffer.alloc(0)
  let terminated = false
  return function watch(chunk: Buffer) {
    if (terminated) return
    let data: Buffer = chunk
    while (data.length > 0) {
      if (skip > 0) {
        const n = Math.min(skip, data.length)
        skip -= n
        data = data.subarray(n)
        continue
      }
      header = header.length === 0 ? data : Buffer.concat([header, data])
      if (startup) {
        if (header.length < 8) return
        const length = header.readInt32BE(0)
        const code = header.readInt32BE(4)
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) startup = false
        data = header.subarray(8)
        skip = Math.max(0, length - 8)
      } else {
        if (header[0] === TERMINATE) {
          terminated = true
          return onTerminate()
        }
        if (header.length < 5) return
        data = header.subarray(5)
        skip = Math.max(0, header.readInt32BE(1) - 4)
      }
      header = Buffer.alloc(0)
    }
  }
}

export async function startPgliteServer(options: PgliteServerOptions): Promise<PgliteServer> {
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket')
  const inner = new PGLiteSocketServer({ db: options.db, host: '127.0.0.1', port: 0, maxConnections: 64 })
  await inner.start()
  const innerAddress = inner.getServerConn()
  const innerPort = Number(innerAddress.slice(innerAddress.lastIndexOf(':') + 1))

  const open = new Set<Socket>()
  const front = createServer(function relay(client) {
    const upstream = connect({ host: '127.0.0.1', port: innerPort })
    open.add(client)
    const close = () => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
    }
    client.on('data', terminateWatcher(() => setImmediate(close)))
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', close)
    upstream.on('close', close)
    client.on('error', close)
    upstream.on('error', close)
  })

  try {
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject)
      front.listen(options.port, options.host, () => {
        front.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    await inner.stop()
    throw error
  }
  const bound = front.address()
  const port = typeof bound === 'object' && bound !== null ? bound.port : options.port

  return {
    address: `${options.host}:${port}`,
    async close() {
      for (const socket of open) socket.destroy()
      await new Promise<void>((resolve) => front.close(() => resolve()))
      await inner.stop()
    },
  }
}
