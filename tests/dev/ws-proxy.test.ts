import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import { FrontendScanner, startWsProxy, WsProxyError, type WsProxy } from '../../lib/dev/ws-proxy.ts'

interface TcpTarget {
  readonly server: Server
  readonly address: string
  readonly accepted: Socket[]
}

/** A TCP server that echoes what it receives, standing in for Postgres. */
async function echoServer(): Promise<TcpTarget> {
  const accepted: Socket[] = []
  const server = createServer((socket) => {
    accepted.push(socket)
    socket.on('data', (chunk) => socket.write(chunk))
    socket.on('error', () => undefined)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  return { server, address: `127.0.0.1:${port}`, accepted }
}

function open(proxy: WsProxy, target: string, path = '/v1'): WebSocket {
  return new WebSocket(`ws://${proxy.address}${path}?address=${target}`)
}

/** Resolves with the HTTP status of a refused upgrade. */
async function refusal(ws: WebSocket): Promise<number> {
  ws.on('error', () => undefined) // the aborted handshake is the expected outcome
  const [request, response] = (await once(ws, 'unexpected-response')) as [{ destroy(): void }, { statusCode: number }]
  request.destroy()
  return response.statusCode
}

describe('local WebSocket proxy', () => {
  let allowed: TcpTarget
  let forbidden: TcpTarget
  let proxy: WsProxy

  before(async () => {
    allowed = await echoServer()
    forbidden = await echoServer()
    proxy = await startWsProxy({ allow: [allowed.address] })
  })

  after(async () => {
    await proxy.close()
    allowed.server.close()
    forbidden.server.close()
  })

  it('relays binary frames to an allow-listed target and its bytes back', async () => {
    const ws = open(proxy, allowed.address)
    await once(ws, 'open')
    const payload = Buffer.from([0, 1, 2, 250, 251, 252])
    ws.send(payload)
    const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean]
    assert.equal(isBinary, true)
    assert.deepEqual(Buffer.from(data), payload)
    ws.close()
    await once(ws, 'close')
  })

  it('refuses a target that is not allow-listed, without connecting to it', async () => {
    const status = await refusal(open(proxy, forbidden.address))
    assert.equal(status, 403)
    assert.equal(forbidden.accepted.length, 0)
  })

  it('refuses a request without a target, and paths other than /v1', async () => {
    assert.equal(await refusal(new WebSocket(`ws://${proxy.address}/v1`)), 403)
    assert.equal(await refusal(open(proxy, allowed.address, '/v2')), 404)
  })

  it('answers plain HTTP with 426 Upgrade Required', async () => {
    const response = await fetch(`http://${proxy.address}/v1?address=${allowed.address}`)
    assert.equal(response.status, 426)
  })

  it('listens on loopback only', () => {
    assert.equal(proxy.host, '127.0.0.1')
  })

  it('will not bind an address other than loopback', async () => {
    await assert.rejects(startWsProxy({ allow: [allowed.address], host: '0.0.0.0' }), WsProxyError)
  })

  it('closes the WebSocket when the database side ends the connection', async () => {
    const ws = open(proxy, allowed.address)
    await once(ws, 'open')
    ws.send(Buffer.from('hello'))
    await once(ws, 'message')
    allowed.accepted.at(-1)?.end()
    const [code] = (await once(ws, 'close')) as [number]
    assert.equal(code, 1000)
  })

  it('closes the database connection when the client goes away', async () => {
    const ws = open(proxy, allowed.address)
    await once(ws, 'open')
    ws.send(Buffer.from('hello'))
    await once(ws, 'message')
    const upstream = allowed.accepted.at(-1)
    assert.ok(upstream)
    const closed = once(upstream, 'close')
    ws.terminate()
    await closed
    assert.equal(upstream.destroyed, true)
  })

  it('closes a client that sends text frames', async () => {
    const ws = open(proxy, allowed.address)
    await once(ws, 'open')
    ws.send('SELECT 1')
    const [code] = (await once(ws, 'close')) as [number]
    assert.equal(code, 1003)
  })
})

describe('counting what clients send (FrontendScanner)', () => {
  const message = (type: string, body: number[]) => {
    const bytes = Buffer.alloc(5 + body.length)
    bytes.write(type, 0, 'latin1')
    bytes.writeInt32BE(4 + body.length, 1)
    Buffer.from(body).copy(bytes, 5)
    return bytes
  }
  const untyped = (code: number, body: number[] = []) => {
    const bytes = Buffer.alloc(8 + body.length)
    bytes.writeInt32BE(8 + body.length, 0)
    bytes.writeInt32BE(code, 4)
    Buffer.from(body).copy(bytes, 8)
    return bytes
  }
  // An SSL request, a startup message, then a password, two statements of the extended protocol (Parse, Bind, Execute, Sync) and one simple Query.
  const stream = Buffer.concat([
    untyped(80_877_103),
    untyped(196_608, [0x75, 0x73, 0x65, 0x72, 0, 0x53, 0x51, 0, 0]),
    message('p', [0x53, 0x51, 0]),
    ...[1, 2].flatMap(() => [message('P', [0, 0x53, 0x51, 0, 0, 0]), message('B', [0x53, 0x53, 0x53, 0x53]), message('E', [0, 0, 0, 0, 0]), message('S', [])]),
    message('Q', [0x53, 0x45, 0x4c, 0]),
  ])

  it('counts Sync and Query messages, not bytes that look like them', () => {
    assert.equal(new FrontendScanner().scan(stream), 3)
  })

  it('counts the same however the stream is cut', () => {
    for (const size of [1, 2, 3, 5, 7, 13]) {
      const scanner = new FrontendScanner()
      let counted = 0
      for (let at = 0; at < stream.length; at += size) counted += scanner.scan(stream.subarray(at, at + size))
      assert.equal(counted, 3, `cut every ${size} bytes`)
    }
  })
})
