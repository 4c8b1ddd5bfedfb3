/**
 * Sends the load: each phase is one autocannon run (HTTP/1.1 keep-alive connections, one
 * request in flight on each), and every answer becomes a sample with what the service said
 * about it: its status, whether it was an instance's first (`x-cold-start`), that instance's
 * init (`Server-Timing: init;dur=`), whether it was served stale (`Cache-Status: …; hit`), and
 * whether a 503 said `Retry-After`.
 */
import type { EventEmitter } from 'node:events'
import autocannon from 'autocannon'
import type { Phase } from './options.ts'

export interface Sample {
  /** When it was sent, in ms since the run started. */
  readonly at: number
  readonly ms: number
  readonly status: number
  readonly path: string
  readonly cold: boolean
  readonly initMs: number | undefined
  readonly stale: boolean
  readonly retryAfter: boolean
}

/** A request that got no answer: a timeout, or a connection that failed. */
export interface Failure {
  readonly at: number
  readonly reason: string
}

export interface Recording {
  readonly samples: Sample[]
  readonly failures: Failure[]
  /** Requests in flight when their phase ended: sent, but neither answered nor timed out. */
  cutOff: number
  /** The phase running now, for the progress line. */
  phase: string
}

export interface DriveOptions {
  readonly url: string
  readonly headers: Record<string, string>
  readonly paths: readonly string[]
  readonly phases: readonly Phase[]
  readonly timeoutSeconds: number
  /** The run's clock: `performance.now()` when it started. */
  readonly startedAt: number
  /** Where the answers go as they come. */
  readonly recording: Recording
  /** Asked while it runs: true ends the run early (Ctrl-C). */
  readonly stopped: () => boolean
}

type Headers = Record<string, string | string[]>

function header(headers: Headers, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(', ') : value
  return undefined
}

/** `init;dur=123.4` in a Server-Timing header, in ms. */
export function initDuration(serverTiming: string | undefined): number | undefined {
  const match = /(?:^|,)\s*init;(?:[^,]*;)?\s*dur=([\d.]+)/.exec(serverTiming ?? '')
  return match ? Number(match[1]) : undefined
}

/** RFC 9211: `Cache-Status: users-api; hit; ttl=-42` is an answer from the cache. */
export function isStale(cacheStatus: string | undefined): boolean {
  return cacheStatus !== undefined && /;\s*hit\b/.test(cacheStatus)
}

/** A path of the load under the URL's own path (an API Gateway stage, say): `/prod` + `/users/me`. */
export function underBase(url: string, path: string): string {
  const base = new URL(url).pathname.replace(/\/+$/, '')
  return `${base}${path}`
}

export async function drive(options: DriveOptions): Promise<void> {
  const { recording, stopped } = options
  let turn = 0
  // autocannon calls onResponse with the headers, then emits 'response', both in the same tick
  // for the same answer: the first leaves what the second needs here.
  let answered: { headers: Headers; path: string } | undefined
  for (const phase of options.phases) {
    if (stopped()) return
    recording.phase = phase.label
    // When each connection last sent a request, and so has one in flight. The latency is timed
    // from here, not taken from autocannon: after a server closes a keep-alive connection,
    // autocannon times each answer from an older request that was never answered.
    const inFlight = new Map<object, number>()
    let finish: (error: Error | null) => void = () => undefined
    const finished = new Promise<void>((resolve, reject) => {
      finish = (error) => (error ? reject(error) : resolve())
    })
    const instance = autocannon(
      {
        url: options.url,
        connections: phase.connections,
        pipelining: 1,
        timeout: options.timeoutSeconds,
        headers: options.headers,
        ...(phase.amount !== undefined ? { amount: phase.amount } : { duration: phase.seconds ?? 10 }),
        ...(phase.rate !== undefined ? { overallRate: phase.rate } : {}),
        setupClient(client) {
          // 'request' (emitted as each request is written) is missing from @types/autocannon.
          ;(client as unknown as EventEmitter).on('request', () => inFlight.set(client, performance.now()))
        },
        requests: [
          {
            method: 'GET',
            setupRequest(request, context) {
              const path = options.paths[turn++ % options.paths.length] as string
              ;(context as { path?: string }).path = path
              return { ...request, path: underBase(options.url, path) }
            },
            onResponse(_status, _body, context, headers) {
              answered = { headers: headers as Headers, path: (context as { path?: string }).path ?? '' }
            },
          },
        ],
      },
      (error) => finish(error),
    )
    instance.on('response', (client, status, _bytes, responseTime) => {
      const now = performance.now()
      const sentAt = inFlight.get(client) ?? now - responseTime
      inFlight.delete(client)
      const headers = answered?.headers ?? {}
      recording.samples.push({
        at: sentAt - options.startedAt,
        ms: now - sentAt,
        status,
        path: answered?.path ?? '',
        cold: header(headers, 'x-cold-start') === '1',
        initMs: initDuration(header(headers, 'server-timing')),
        stale: isStale(header(headers, 'cache-status')),
        retryAfter: header(headers, 'retry-after') !== undefined,
      })
      answered = undefined
    })
    instance.on('reqError', (error: Error) => {
      recording.failures.push({ at: performance.now() - options.startedAt, reason: error.message || String(error) })
    })
    const watch = setInterval(() => {
      if (stopped()) instance.stop()
    }, 200)
    try {
      await finished
    } finally {
      clearInterval(watch)
      // autocannon drops what is in flight when a phase ends: neither answered nor failed.
      recording.cutOff += inFlight.size
    }
  }
}
