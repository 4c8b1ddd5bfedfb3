/**
 * A TCP relay to a database that can be made to fail on demand, for outage tests and load
 * tests: `forward` relays, `blackhole` keeps every connection open and silent (as a network
 * partition does: clients learn nothing until their timeouts), `refuse` closes new
 * connections at once. Loopback only.
 */
import { connect, createServer, type Socket } from 'node:net'

export type FaultMode = 'forward' | 'blackhole' | 'refuse'

export interface FaultProxy {
  /** `host:port` to use in place of the database's. */
  readonly address: string
  readonly mode: FaultMode
  setMode(mode: FaultMode): void
  close(): Promise<void>
}

export async function startFaultProxy(options: { target: string; port?: number }): Promise<FaultProxy> {
  const at = options.target.lastIndexOf(':')
  const targetHost = options.target.slice(0, at)
  const targetPort = Number(options.target.slice(at + 1))
  let mode: FaultMode = 'forward'
  const pairs = new Set<{ client: Socket; upstream: Socket | undefined }>()

  const server = createServer((client) => {
    client.on('error', () => undefined)
    if (mode === 'refuse') return void client.destroy()
    const pair: { client: Socket; upstream: Socket | undefined } = { client, upstream: undefined }
    pairs.add(pair)
    client.on('close', () => {
      pair.upstream?.destroy()
      pairs.delete(pair)
    })
    if (mode === 'blackhole') return // held open, never answered
    const upstream = connect({ host: targetHost, port: targetPort })
    pair.upstream = upstream
    upstream.on('error', () => client.destroy())
    upstream.on('close', () => client.destroy())
    // Relayed only while forwarding: in a blackhole, bytes go nowhere, both ways.
    client.on('data', (chunk) => {
      if (mode === 'forward') upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (mode === 'forward') client.write(chunk)
    })
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }

  return {
    address: `127.0.0.1:${port}`,
    get mode() {
      return mode
    },
    setMode(next) {
      // Connections that sat in a blackhole are dead to their clients; end them when it lifts.
      if (mode !== 'forward' && next === 'forward') {
        for (const pair of pairs) {
          pair.client.destroy()
          pair.upstream?.destroy()
        }
      }
      mode = next
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy()
        pair.upstream?.destroy()
      }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
