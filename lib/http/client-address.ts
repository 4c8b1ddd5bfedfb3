/**
 * Who is on the other end, as the runtime saw the connection, never as a header the client
 * could write (`X-Forwarded-For` is the client's own text unless a proxy we run replaced it):
 * on Lambda API Gateway's `sourceIp` (payload 2.0 `requestContext.http`, 1.0
 * `requestContext.identity`; the local emulator puts the socket's peer there), on the Node
 * server the socket's peer (@hono/node-server's `incoming`), on Workers `CF-Connecting-IP`,
 * which Cloudflare's edge sets and a client cannot. Undefined where none is known (an ALB
 * event, `app.request()`): a caller then has no address to be counted by, rather than one it
 * chose.
 */
import type { Context } from 'hono'

interface Bindings {
  readonly event?: unknown
  readonly requestContext?: { readonly http?: { readonly sourceIp?: unknown }; readonly identity?: { readonly sourceIp?: unknown } }
  readonly incoming?: { readonly socket?: { readonly remoteAddress?: unknown } }
}

export function clientAddress(c: Context): string | undefined {
  const env = c.env as Bindings | undefined
  let address: unknown
  if (env?.event !== undefined || env?.requestContext !== undefined) address = env.requestContext?.http?.sourceIp ?? env.requestContext?.identity?.sourceIp
  else if (env?.incoming !== undefined) address = env.incoming.socket?.remoteAddress
  else if (globalThis.navigator?.userAgent === 'Cloudflare-Workers') address = c.req.header('cf-connecting-ip')
  return typeof address === 'string' && address !== '' ? address : undefined
}

/**
 * The part of an address that names one client: an IPv4 address, or an IPv6 /64 (the
 * smallest network a provider hands out, so one client can change the rest at will). An
 * IPv4 address written as IPv6 (`::ffff:192.0.2.1`, Node's dual-stack sockets) is IPv4.
 */
export function clientNetwork(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1] as string
  if (!address.includes(':')) return address
  const [head = '', tail] = (address.split('%')[0] ?? '').toLowerCase().split('::')
  const front = head === '' ? [] : head.split(':')
  const back = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back]
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}
