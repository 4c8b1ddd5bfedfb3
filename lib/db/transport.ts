/**
 * The WebSocket the Neon driver sends Postgres bytes through. The driver's own batching
 * (`coalesceWrites`) gathers the messages of a statement (Parse, Bind, Describe, Execute,
 * Sync) and sends them as one WebSocket message from a `setTimeout(…, 0)`: on Node, where
 * Lambda runs, that timer waits at least 1 ms, every statement. Here the driver's batching is
 * off and the socket gathers what the driver writes in the current task instead, sending it
 * as one message when the microtasks queued before it have run: the same single message per
 * statement, with no timer. Everything else (reads, large results, closing) is the platform's
 * WebSocket, unchanged: Node 22's and workerd's global one, or `ws` on Node 20.
 */
import { Client, type Pool } from '@neondatabase/serverless'

/** What the driver needs of a WebSocket class (the DOM type, which `ws` also satisfies). */
type WebSocketClass = new (url: string) => WebSocket

/** `Base` with its `send` gathering what one task writes into one message. */
export function batchingWebSocket(Base: WebSocketClass): WebSocketClass {
  return class BatchingWebSocket extends Base {
    #pending: Uint8Array<ArrayBuffer>[] = []
    #bytes = 0

    override send(data: Parameters<WebSocket['send']>[0]): void {
      if (!(data instanceof Uint8Array)) return super.send(data)
      if (this.#pending.length === 0) queueMicrotask(this.#flush)
      this.#pending.push(data as Uint8Array<ArrayBuffer>)
      this.#bytes += data.byteLength
    }

    override close(code?: number, reason?: string): void {
      // Whatever was written before the socket is closed goes first, as it would unbatched.
      this.#flush()
      super.close(code, reason)
    }

    readonly #flush = (): void => {
      const pending = this.#pending
      if (pending.length === 0) return
      const batch = pending.length === 1 ? (pending[0] as Uint8Array<ArrayBuffer>) : concat(pending, this.#bytes)
      this.#pending = []
      this.#bytes = 0
      try {
        super.send(batch)
      } catch {
        // A socket that closed meanwhile: the driver learns of it from the close event, as
        // it would from its own send. Thrown here, from a microtask, it would end the process.
      }
    }
  }
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(length)
  let at = 0
  for (const chunk of chunks) {
    joined.set(chunk, at)
    at += chunk.byteLength
  }
  return joined
}

const batching = new WeakMap<WebSocketClass, WebSocketClass>()

/** The driver's Client, its connection on the batching socket. */
export class TransportClient extends Client {
  constructor(config?: ConstructorParameters<typeof Client>[0]) {
    super(config)
    const socket = this.neonConfig
    // The platform's WebSocket: the one set for the driver (`ws` on Node 20), else the global one.
    const base = (socket.webSocketConstructor ?? globalThis.WebSocket) as WebSocketClass | undefined
    if (base === undefined) return // the driver fails to connect, as it would without this
    let wrapped = batching.get(base)
    if (wrapped === undefined) batching.set(base, (wrapped = batchingWebSocket(base)))
    socket.webSocketConstructor = wrapped
    socket.coalesceWrites = false
  }
}

/** Makes `pool` open its connections with TransportClient. */
export function onTransport(pool: Pool): Pool {
  pool.Client = TransportClient
  return pool
}
