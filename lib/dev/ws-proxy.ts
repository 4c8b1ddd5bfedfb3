/**
 * A local stand-in for Neon's WebSocket proxy (wsproxy), so that the functions talk to a
 * plain PostgreSQL (or PGlite over its socket server) through the very driver they use in
 * production. The protocol is Neon's: the client opens `ws://host:port/v1?address=db:5432`
 * and then raw Postgres wire bytes travel in binary frames, both ways.
 *
 * Because it turns WebSockets into TCP connections, it is a relay: it binds loopback only
 * and forwards only to the `host:port` pairs it was given, never to whatever a client asks.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { isIP, connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'

export interface WsProxyOptions {
  /** `host:port` targets that may be reached, e.g. `127.0.0.1:5432`. */
  allow: readonly string[]
  /** Loopback address to bind (default `127.0.0.1`). Anything else is refused. */
  host?: string
  /** Port to bind; 0 (the default) lets the system choose. */
  port?: number
}

export interface WsProxy {
  /** `host:port` the proxy listens on, the value for `neonConfig.wsProxy`'s prefix. */
  readonly address: string
  readonly host: string
  readonly port: number
  /** Number of relayed connections currently open. */
  readonly connections: number
  /** What clients have sent through it so far, for tests and benches to count round trips. */
  readonly wire: Readonly<WireCount>
  close(): Promise<void>
}

/**
 * Clients' messages relayed to the database: each WebSocket message is a batch the client sent
 * at once (one round trip begun, when it asks for an answer), holding this many statements
 * (Sync and Query messages: one per statement, of the extended and the simple protocol).
 */
export interface WireCount {
  messages: number
  statements: number
  /** Relayed connections open now: none once every client has ended its connection and the database has closed it. */
  readonly open: number
}

/**
 * Counts the statements in one connection's stream of frontend messages, however they are cut
 * into WebSocket messages: a type byte and an int32 length (itself included), after an
 * untyped startup message (and an untyped SSL or GSS request before it, if any).
 */
export class FrontendScanner {
  readonly #header = Buffer.alloc(8)
  #filled = 0
  /** Bytes of the current message's body still to skip. */
  #remaining = 0
  #started = false

  /** The statements that end in `chunk`. */
  scan(chunk: Uint8Array): number {
    let statements = 0
    let at = 0
    while (at < chunk.length) {
      if (this.#remaining > 0) {
        const skipped = Math.min(this.#remaining, chunk.length - at)
        at += skipped
        this.#remaining -= skipped
        continue
      }
      const size = this.#started ? 5 : 8
      while (this.#filled < size && at < chunk.length) this.#header[this.#filled++] = chunk[at++] as number
      if (this.#filled < size) break
      this.#filled = 0
      if (this.#started) {
        const type = this.#header[0]
        if (type === 0x53 || type === 0x51) statements++
        this.#remaining = this.#header.readInt32BE(1) - 4
      } else {
        const code = this.#header.readInt32BE(4)
        this.#remaining = this.#header.readInt32BE(0) - 8
        if (code !== SSL_REQUEST && code !== GSS_REQUEST) this.#started = true
      }
    }
    return statements
  }
}

const SSL_REQUEST = 80_877_103
const GSS_REQUEST = 80_877_104

const PATH = '/v1'
/** Pause the database side when this many bytes wait to go out on the WebSocket. */
const HIGH_WATER_MARK = 1024 * 1024

export class WsProxyError extends Error {
  override name = 'WsProxyError'
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1' || host === '[::1]'
}

/** Lower-cases the host and strips IPv6 brackets so `[::1]:5432` and `::1:5432` match. */
export function normalizeTarget(target: string): string | undefined {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(target.trim())
  if (!match) return undefined
  const [, host, port] = match as unknown as [string, string, string]
  const portNumber = Number(port)
  if (portNumber < 1 || portNumber > 65535) return undefined
  return `${host.toLowerCase()}:${portNumber}`
}

function splitTarget(target: string): { host: string; port: number } {
  const at = target.lastIndexOf(':')
  return { host: target.slice(0, at), port: Number(target.slice(at + 1)) }
}

/** How long a client has to answer the close frame once the database side of its relay is gone. */
const CLOSE_GRACE_MS = 100

export async function startWsProxy(options: WsProxyOptions): Promise<WsProxy> {
  const host = options.host ?? '127.0.0.1'
  if (!isLoopback(host)) {
    throw new WsProxyError(`the WebSocket proxy binds loopback only, not ${host}`)
  }
  const allowed = new Set<string>()
  for (const entry of options.allow) {
    const target = normalizeTarget(entry)
    if (!target) throw new WsProxyError(`not a host:port target: ${entry}`)
    allowed.add(target)
  }

  const sockets = new Set<Socket>()
  const wire: WireCount = {
    messages: 0,
    statements: 0,
    get open() {
      return sockets.size
    },
  }
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
  const server: Server = createServer(function refusePlainHttp(_req, res) {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' })
    res.end('WebSocket upgrade required\n')
  })

  server.on('upgrade', function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const url = new URL(req.url ?? '/', 'ws://proxy')
    if (url.pathname !== PATH) return rejectUpgrade(socket, 404, 'Not Found')
    const target = normalizeTarget(url.searchParams.get('address') ?? '')
    if (!target || !allowed.has(target)) return rejectUpgrade(socket, 403, 'Forbidden')
    wss.handleUpgrade(req, socket, head, (ws) => relay(ws, target))
  })

  function relay(ws: WebSocket, target: string): void {
    const { host: targetHost, port } = splitTarget(target)
    const tcp = connect({ host: targetHost, port })
    tcp.setNoDelay(true)
    sockets.add(tcp)
    const scanner = new FrontendScanner()

    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return ws.close(1003, 'binary frames only')
      wire.messages++
      wire.statements += scanner.scan(data)
      if (!tcp.write(data)) {
        ws.pause()
        tcp.once('drain', () => ws.resume())
      }
    })
    ws.on('close', () => tcp.end())
    ws.on('error', () => tcp.destroy())

    tcp.on('data', (chunk: Buffer) => {
      ws.send(chunk, { binary: true }, () => {
        if (tcp.isPaused() && ws.bufferedAmount < HIGH_WATER_MARK) tcp.resume()
      })
      if (ws.bufferedAmount >= HIGH_WATER_MARK) tcp.pause()
    })
    tcp.on('error', () => {
      // The reason goes to the client in the close frame; the relay itself stays up.
      if (ws.readyState === ws.OPEN) ws.close(1011, 'database connection failed')
    })
    tcp.on('close', () => {
      sockets.delete(tcp)
      if (ws.readyState === ws.CLOSED) return
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000)
      // The database side is gone: a client that does not answer the close frame at once is
      // not waited for (ws waits 30 s for it, and the client's connect waits as long).
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref()
    })
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = server.address()
  if (bound === null || typeof bound === 'string') throw new WsProxyError('proxy did not bind a TCP port')
  const address = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`

  return {
    address,
    host: bound.address,
    port: bound.port,
    get connections() {
      return sockets.size
    },
    wire,
    async close() {
      for (const client of wss.clients) client.terminate()
      for (const tcp of sockets) tcp.destroy()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}
