/**
 * A database behind fault proxies (lib/dev/fault-proxy.ts), for outage tests, the outage
 * bench and the load tool: `count` proxies to it, a WebSocket proxy that reaches it directly
 * and through each, and the database URL rewritten to go through a given one.
 */
import type { DevDatabase } from './database.ts'
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts'
import { startWsProxy, type WsProxy } from './ws-proxy.ts'

export interface FaultyPaths {
  readonly proxies: FaultProxy[]
  readonly ws: WsProxy
  /** The database URL, through `proxy`. */
  urlThrough(proxy: FaultProxy): string
  close(): Promise<void>
}

export async function behindFaultProxies(database: DevDatabase, count = 1): Promise<FaultyPaths> {
  const url = new URL(database.url)
  const target = `${url.hostname}:${url.port || 5432}`
  const proxies: FaultProxy[] = []
  for (let i = 0; i < count; i++) proxies.push(await startFaultProxy({ target }))
  const ws = await startWsProxy({ allow: [target, ...proxies.map((proxy) => proxy.address)] })
  return {
    proxies,
    ws,
    urlThrough(proxy) {
      const through = new URL(database.url)
      through.host = proxy.address
      return through.toString()
    },
    async close() {
      await ws.close()
      for (const proxy of proxies) await proxy.close()
    },
  }
}
