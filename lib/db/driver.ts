/**
 * Every setting of the Neon driver lives here, so that the difference between production
 * and a laptop is one value: the address of a local WebSocket proxy, or none.
 *
 * - Neon (no proxy): the driver's defaults — a secure WebSocket to the Neon endpoint's own
 *   proxy, with the startup message and password pipelined.
 * - Local (a proxy on loopback, see `lib/dev/ws-proxy.ts`): a plain `ws://` socket, and no
 *   pipelining, since a real Postgres asks for SCRAM rather than a cleartext password and
 *   there is no TLS to pipeline inside the tunnel.
 */
import { neonConfig } from '@neondatabase/serverless'

export type DriverSettings =
  | { readonly mode: 'neon' }
  | { readonly mode: 'local'; readonly wsProxy: string }

let applied: string | undefined

export async function configureDriver(settings: DriverSettings): Promise<void> {
  // Node 22 (Lambda's runtime) and workerd have a global WebSocket; Node 20 does not.
  if (typeof globalThis.WebSocket === 'undefined' && !neonConfig.webSocketConstructor) {
    const { default: WebSocket } = await import('ws')
    neonConfig.webSocketConstructor = WebSocket
  }

  const key = settings.mode === 'local' ? `local:${settings.wsProxy}` : 'neon'
  if (applied === key) return
  if (settings.mode === 'local') {
    const proxy = settings.wsProxy
    neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${formatHost(host)}:${port}`
    neonConfig.useSecureWebSocket = false
    neonConfig.pipelineConnect = false
    neonConfig.pipelineTLS = false
  } else {
    delete neonConfig.opts.wsProxy
    delete neonConfig.opts.useSecureWebSocket
    delete neonConfig.opts.pipelineConnect
    delete neonConfig.opts.pipelineTLS
  }
  applied = key
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
