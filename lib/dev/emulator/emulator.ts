/**
 * A local stand-in for API Gateway (HTTP API, payload 2.0) in front of Lambda, with Lambda's
 * model: each function instance is a process of its own (runtime.mjs) serving one request at a
 * time; a request that finds every instance busy starts a new one (a cold start, with its init)
 * up to the function's concurrency limit, beyond which it is throttled (429); an idle instance
 * is frozen (SIGSTOP) until its next request (SIGCONT) and reaped after an idle timeout
 * (SIGTERM, which runs the lifespans' shutdown); an invocation past the function's timeout is
 * killed. One `REPORT` line per invocation, as Lambda writes it.
 *
 * One thing it cannot copy: Lambda gives every instance a CPU of its own, while here all of them
 * share this machine's few cores. Fifty cold starts at once would each take 50 / cores times as
 * long and, worse, starve the invocations already running, which then miss their deadlines on
 * a healthy database. So inits are queued so that as many run at once as there are cores
 * (`parallelInits`); a request waits for its instance's init as on Lambda, and its deadline
 * starts when the invocation does, as on Lambda.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { availableParallelism } from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import pLimit, { type LimitFunction } from 'p-limit'
import { pathPattern } from '../../http/routes-info.ts'

const RUNTIME = fileURLToPath(new URL('./runtime.mjs', import.meta.url))

export interface FunctionSpec {
  /** `GET /users/{id}`, or `$default` for what no route takes. */
  readonly routeKey: string
  /** The built bundle (an ES module exporting `handler`). */
  readonly bundle: string
  readonly memoryMb?: number
  readonly timeoutMs?: number
}

export interface EmulatorOptions {
  readonly functions: readonly FunctionSpec[]
  /** The functions' environment. */
  readonly env: Record<string, string>
  readonly port?: number
  /** Instances per function at most (Lambda's reserved concurrency); beyond it, 429. */
  readonly concurrency?: number
  /** An instance idle this long is shut down (SIGTERM). */
  readonly idleMs?: number
  /** Inits that may run at once, across all functions; more wait their turn. Default: the cores. */
  readonly parallelInits?: number
  /** Where the REPORT lines and the instances' own output go. */
  readonly log?: (line: string) => void
}

export interface Invocation {
  readonly routeKey: string
  readonly cold: boolean
  readonly status: number
  readonly durationMs: number
  readonly initMs: number | undefined
}

export interface Emulator {
  readonly url: string
  /** Every invocation so far, in order. */
  readonly invocations: readonly Invocation[]
  /** Live instances per route key, with their process ids and whether each is frozen. */
  instances(routeKey: string): { pid: number; frozen: boolean; busy: boolean }[]
  close(): Promise<void>
}

type Outcome =
  | { kind: 'result'; result: APIGatewayProxyStructuredResultV2; durationMs: number; maxRssBytes: number }
  | { kind: 'error'; errorMessage: string; durationMs: number; maxRssBytes: number }
  | { kind: 'timeout'; durationMs: number }
  | { kind: 'throttled' }

interface Instance {
  readonly child: ChildProcess
  busy: boolean
  frozen: boolean
  dead: boolean
  reaper: ReturnType<typeof setTimeout> | undefined
  pending: ((message: { type: string; result?: APIGatewayProxyStructuredResultV2; error?: { errorMessage: string }; durationMs?: number; maxRssBytes?: number }) => void) | undefined
}

class LambdaFunction {
  readonly #spec: FunctionSpec
  readonly #options: EmulatorOptions
  readonly #initSlots: LimitFunction
  readonly instances: Instance[] = []
  #closed = false

  constructor(spec: FunctionSpec, options: EmulatorOptions & { initSlots: LimitFunction }) {
    this.#spec = spec
    this.#options = options
    this.#initSlots = options.initSlots
  }

  get memoryMb(): number {
    return this.#spec.memoryMb ?? 512
  }

  get timeoutMs(): number {
    return this.#spec.timeoutMs ?? 10_000
  }

  #log(line: string): void {
    ;(this.#options.log ?? ((text: string) => process.stdout.write(`${text}\n`)))(line)
  }

  /** Starts an instance when an init slot is free (see the file's comment). */
  #start(): Promise<{ instance: Instance; initMs: number }> {
    return this.#initSlots(() => this.#init())
  }

  /**
   * Starts an instance and waits for its init; the init's duration, or an error. The init is
   * timed from the spawn, as Lambda's Init Duration counts the runtime's start (Node's boot)
   * with the function's: under load, the boot is most of it.
   */
  async #init(): Promise<{ instance: Instance; initMs: number }> {
    // A queued init whose turn comes after close() starts nothing.
    if (this.#closed) throw new Error('the emulator is closing')
    const spawnedAt = performance.now()
    const child = fork(RUNTIME, [this.#spec.bundle, this.#spec.routeKey.replace(/[^\w-]+/g, '_'), String(this.memoryMb)], {
      // What Lambda sets in every function's environment: a function starts its lifespans in init.
      // EMULATOR_PID names the emulator an instance belongs to, so that a tool (or a test) finds
      // its own instances among other emulators' on the machine, even after it has exited.
      env: {
        ...this.#options.env,
        AWS_LAMBDA_FUNCTION_NAME: this.#spec.routeKey.replace(/[^\w-]+/g, '_'),
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(this.memoryMb),
        // The function's unpacked package (/var/task on Lambda): the bundle's folder.
        LAMBDA_TASK_ROOT: dirname(resolve(this.#spec.bundle)),
        EMULATOR_PID: String(process.pid),
      },
      // Plain node, as Lambda runs it: not this process's flags (tsx's loader, under npm run).
      execArgv: [],
      // A process group of its own: a Ctrl-C on the terminal is the emulator's to act on
      // (close() shuts instances down), not a signal that kills instances mid-request.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    child.on('error', () => undefined) // a failed send; the invocation that made it is failed above
    const instance: Instance = { child, busy: true, frozen: false, dead: false, reaper: undefined, pending: undefined }
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = ''
      stream?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines) if (line !== '') this.#log(line)
      })
    }
    child.on('exit', () => {
      instance.dead = true
      clearTimeout(instance.reaper)
      const index = this.instances.indexOf(instance)
      if (index >= 0) this.instances.splice(index, 1)
      instance.pending?.({ type: 'error', error: { errorMessage: 'the instance exited' } })
    })
    this.instances.push(instance)
    const ready = await new Promise<{ type: string; error?: { errorMessage: string } }>((resolve) => {
      child.once('message', resolve)
      child.once('exit', () => resolve({ type: 'init-error', error: { errorMessage: 'the instance exited during init' } }))
    })
    if (ready.type !== 'ready') {
      child.kill('SIGKILL')
      throw new Error(`init failed: ${ready.error?.errorMessage ?? 'unknown'}`)
    }
    child.on('message', (message: Parameters<NonNullable<Instance['pending']>>[0]) => instance.pending?.(message))
    return { instance, initMs: performance.now() - spawnedAt }
  }

  async invoke(event: APIGatewayProxyEventV2, concurrency: number, idleMs: number): Promise<Outcome & { cold: boolean; initMs: number | undefined; requestId: string }> {
    const requestId = randomUUID()
    let instance = this.instances.find((item) => !item.busy && !item.dead)
    let initMs: number | undefined
    if (instance !== undefined) {
      instance.busy = true
      clearTimeout(instance.reaper)
      if (instance.frozen) {
        instance.child.kill('SIGCONT')
        instance.frozen = false
      }
    } else if (this.instances.length < concurrency) {
      try {
        ;({ instance, initMs } = await this.#start())
      } catch (error) {
        this.#log(`INIT_REPORT Init Duration: failed (${(error as Error).message})`)
        return { kind: 'error', errorMessage: (error as Error).message, durationMs: 0, maxRssBytes: 0, cold: true, initMs: undefined, requestId }
      }
    } else {
      return { kind: 'throttled', cold: false, initMs: undefined, requestId }
    }

    const running = instance
    const deadline = Date.now() + this.timeoutMs
    const started = performance.now()
    const outcome = await new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        running.pending = undefined
        running.child.kill('SIGKILL') // as Lambda does: the instance does not survive its timeout
        resolve({ kind: 'timeout', durationMs: performance.now() - started })
      }, this.timeoutMs)
      running.pending = (message) => {
        clearTimeout(timer)
        running.pending = undefined
        if (message.type === 'result' && message.result !== undefined) {
          resolve({ kind: 'result', result: message.result, durationMs: message.durationMs ?? 0, maxRssBytes: message.maxRssBytes ?? 0 })
        } else {
          resolve({ kind: 'error', errorMessage: message.error?.errorMessage ?? 'unknown error', durationMs: message.durationMs ?? performance.now() - started, maxRssBytes: message.maxRssBytes ?? 0 })
        }
      }
      // An instance that died since it was picked (its exit not yet seen) fails the invocation.
      running.child.send({ type: 'invoke', id: requestId, event, deadline, requestId }, (error) => {
        if (error) running.pending?.({ type: 'error', error: { errorMessage: `the instance is gone (${error.message})` } })
      })
    })

    if (outcome.kind === 'timeout') {
      this.#log(`${new Date().toISOString()} ${requestId} Task timed out after ${(this.timeoutMs / 1000).toFixed(2)} seconds`)
    }
    const duration = outcome.kind === 'throttled' ? 0 : outcome.durationMs
    const memory = 'maxRssBytes' in outcome ? Math.ceil(outcome.maxRssBytes / (1024 * 1024)) : 0
    this.#log(
      `REPORT RequestId: ${requestId}\tDuration: ${duration.toFixed(2)} ms\tBilled Duration: ${Math.ceil(duration)} ms\tMemory Size: ${this.memoryMb} MB\tMax Memory Used: ${memory} MB${
        initMs === undefined ? '' : `\tInit Duration: ${initMs.toFixed(2)} ms`
      }`,
    )
    if (!running.dead) {
      running.busy = false
      // Frozen between invocations, as Lambda freezes an idle instance; reaped when idle too long.
      running.child.kill('SIGSTOP')
      running.frozen = true
      running.reaper = setTimeout(() => this.#reap(running), idleMs)
    }
    return { ...outcome, cold: initMs !== undefined, initMs, requestId }
  }

  #reap(instance: Instance): void {
    if (instance.busy || instance.dead) return
    instance.busy = true // taken out of service
    // SIGTERM first, then SIGCONT, so that the signal is there when the process runs again.
    instance.child.kill('SIGTERM')
    instance.child.kill('SIGCONT')
    instance.frozen = false
    const force = setTimeout(() => instance.child.kill('SIGKILL'), 2_000)
    instance.child.once('exit', () => clearTimeout(force))
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(
      this.instances.map(
        (instance) =>
          new Promise<void>((resolve) => {
            if (instance.dead) return resolve()
            instance.child.once('exit', () => resolve())
            // An idle instance shuts down as Lambda's would; one still in its init or an
            // invocation (or already being reaped) is killed: nothing it does now is wanted.
            if (instance.busy) instance.child.kill('SIGKILL')
            else this.#reap(instance)
          }),
      ),
    )
  }
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+json)/i

/** The request as API Gateway's payload-2.0 event for the route it matched. */
function toEvent(request: IncomingMessage, body: Buffer, routeKey: string, pathParameters: Record<string, string> | undefined): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost')
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined && name !== 'cookie') headers[name] = Array.isArray(value) ? value.join(',') : value
  const query: Record<string, string> = {}
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value
  const contentType = request.headers['content-type'] ?? ''
  const binary = body.length > 0 && !TEXT_TYPES.test(contentType)
  const now = new Date()
  const cookies = request.headers.cookie?.split(/;\s*/).filter((item) => item !== '')
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: request.headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: { method: request.method ?? 'GET', path: url.pathname, protocol: `HTTP/${request.httpVersion}`, sourceIp: request.socket.remoteAddress ?? '127.0.0.1', userAgent: request.headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: binary ? body.toString('base64') : body.toString('utf8') } : {}),
    isBase64Encoded: binary,
  }
}

function send(response: ServerResponse, status: number, headers: Record<string, string | number | boolean>, body: Buffer | string, cookies: readonly string[] = []): void {
  response.statusCode = status
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, String(value))
  if (cookies.length > 0) response.setHeader('set-cookie', [...cookies])
  response.end(body)
}

export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const concurrency = options.concurrency ?? 10
  const idleMs = options.idleMs ?? 60_000
  const initSlots = pLimit(options.parallelInits ?? availableParallelism())
  const functions = new Map(options.functions.map((spec) => [spec.routeKey, new LambdaFunction(spec, { ...options, initSlots })]))
  const routes = options.functions
    .filter((spec) => spec.routeKey !== '$default')
    .map((spec) => {
      const [method, path] = spec.routeKey.split(' ') as [string, string]
      return { routeKey: spec.routeKey, method, match: pathPattern(path), hasParams: path.includes('{') }
    })
  const invocations: Invocation[] = []
  // If this process ends without close() (a crash, process.exit), its instances must not
  // outlive it: a frozen one would not even see its parent go.
  const killInstances = () => {
    for (const fn of functions.values()) for (const instance of fn.instances) instance.child.kill('SIGKILL')
  }
  process.once('exit', killInstances)

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      void (async () => {
        const path = new URL(request.url ?? '/', 'http://localhost').pathname
        const route = routes.find((item) => item.method === request.method && item.match.test(path))
        const routeKey = route?.routeKey ?? '$default'
        const fn = functions.get(routeKey)
        if (fn === undefined) return send(response, 404, { 'content-type': 'application/json' }, '{"message":"Not Found"}')
        const groups = route?.hasParams ? route.match.exec(path)?.groups : undefined
        const pathParameters = groups ? Object.fromEntries(Object.entries(groups).map(([name, value]) => [name, decodeURIComponent(value)])) : undefined
        const outcome = await fn.invoke(toEvent(request, Buffer.concat(chunks), routeKey, pathParameters), concurrency, idleMs)
        let status: number
        if (outcome.kind === 'result') {
          const result = outcome.result
          status = result.statusCode ?? 200
          const body = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? '')
          send(response, status, (result.headers ?? {}) as Record<string, string>, body, result.cookies)
        } else if (outcome.kind === 'throttled') {
          status = 429
          send(response, 429, { 'content-type': 'application/json' }, '{"message":"Too Many Requests"}')
        } else {
          // A function error or timeout: API Gateway's own 500.
          status = 500
          send(response, 500, { 'content-type': 'application/json' }, '{"message":"Internal Server Error"}')
        }
        invocations.push({ routeKey, cold: outcome.cold, status, durationMs: 'durationMs' in outcome ? outcome.durationMs : 0, initMs: outcome.initMs })
      })()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as { port: number }

  return {
    url: `http://127.0.0.1:${port}`,
    invocations,
    instances: (routeKey) => (functions.get(routeKey)?.instances ?? []).map((item) => ({ pid: item.child.pid ?? 0, frozen: item.frozen, busy: item.busy })),
    async close() {
      process.off('exit', killInstances)
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await Promise.all([...functions.values()].map((fn) => fn.close()))
    },
  }
}
