/**
 * A TCP relay to a database that can be made to fail on demand, for outage tests and load
 * tests: `forward` relays, `blackhole` keeps every connection open and silent (as a network
 * partition does: clients learn nothing until their timeouts), `refuse` closes new
 * connections at once, `mute` passes what clients send and drops what the database answers
 * (a statement runs, and its client never hears: COMMIT's answer lost). `sever()` kills the connections open now the way a NAT or a server
 * does while a Lambda instance is frozen: the database side is gone, the client is never
 * told, and what it sends on them is lost; new connections are relayed. Loopback only.
 */
import { connect, createServer, type Socket } from 'node:net'

export type FaultMode = 'forward' | 'blackhole' | 'refuse' | 'mute'

export interface FaultProxy {
  /** `host:port` to use in place of the database's. */
  readonly address: string
  readonly mode: FaultMode
  setMode(mode: FaultMode): void
  /** Silently kills every connection open now (their clients are not told); returns how many. */
  sever(): number
  /**
   * Connections open now that reach the database (not severed, not held in a blackhole):
   * what the database would count as its clients' through this proxy.
   */
  readonly connections: number
  close(): Promise<void>
}

export async function startFaultProxy(options: { target: string; port?: number }): Promise<FaultProxy> {
  const at = options.target.lastIndexOf(':')
  const targetHost = options.target.slice(0, at)
  const targetPort = Number(options.target.slice(at + 1))
  let mode: FaultMode = 'forward'
  interface Pair {
    client: Socket
    upstream: Socket | undefined
    severed: boolean
  }
  const pairs = new Set<Pair>()

  const server = createServer((client) => {
    client.on('error', () => undefined)
    client.setNoDelay(true)
    if (mode === 'refuse') return void client.destroy()
    const pair: Pair = { client, upstream: undefined, severed: false }
    pairs.add(pair)
    client.on('close', () => {
      pair.upstream?.destroy()
      pairs.delete(pair)
    })
    if (mode === 'blackhole') return // held open, never answered
    const upstream = connect({ host: targetHost, port: targetPort, noDelay: true })
    pair.upstream = upstream
    upstream.on('error', () => undefined)
    upstream.on('close', () => {
      if (!pair.severed) client.destroy()
    })
    // Relayed only while forwarding: in a blackhole, bytes go nowhere, both ways; muted, only
    // the answers are lost.
    client.on('data', (chunk) => {
      if ((mode === 'forward' || mode === 'mute') && !pair.severed) upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (mode === 'forward' && !pair.severed) client.write(chunk)
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
      // Connections that sat in a blackhole (or lost answers) are dead to their clients; end them when it lifts.
      if (mode !== 'forward' && next === 'forward') {
        for (const pair of pairs) {
          pair.client.destroy()
          pair.upstream?.destroy()
        }
      }
      mode = next
    },
    get connections() {
      let count = 0
      for (const pair of pairs) if (pair.upstream !== undefined && !pair.severed) count++
      return count
    },
    sever() {
      let count = 0
      for (const pair of pairs) {
        if (pair.severed) continue
        pair.severed = true
        pair.upstream?.destroy()
        count++
      }
      return count
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
