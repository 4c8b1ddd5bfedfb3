/**
 * A Hono app as the handler of one Lambda function, read as hono/aws-lambda reads events
 * (its event processors: API Gateway payload 2.0 and 1.0, Function URLs, ALB), so that the
 * app, its Hono middleware and its error answers behave as on the dev server and a Worker.
 *
 * `lambdaFunction()` is awaited at module level, so the lifespans start during Lambda's init
 * phase, before the first request, and a failed startup fails the instance there, once, with
 * one log line. SIGTERM, which Lambda sends before it stops an instance, runs the shutdown.
 * Background tasks are awaited before the handler returns: a frozen instance would not run them.
 *
 * Before Hono sees an event, what hono/aws-lambda would get wrong is set right: a named
 * stage's prefix is taken off the path (API Gateway routes without it), and a GET or HEAD
 * body is dropped (a web `Request` cannot carry one; FastAPI ignores it). An event that
 * cannot be read at all is still answered in the contract's shape, with a request id and a
 * log line.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda'
import type { ExecutionContext, Hono } from 'hono'
import type { Env } from '../config.ts'
import { log } from '../log.ts'
import { addSafetyHeaders, createApp, type App, type AppEnv, type KnownRoute } from './app.ts'
import { isPayloadV2, requestOfEvent, resultOfResponse } from './lambda-event.ts'
import { StaleCache, usesSharedCache } from './stale-cache.ts'

/** The handler of an API Gateway HTTP API (payload 2.0) route, in @types/aws-lambda's terms. */
export type HttpApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>

export interface LambdaFunction {
  readonly handler: HttpApiHandler
  readonly app: App
  /** Runs the lifespans' shutdown; on SIGTERM, and by tests. */
  shutdown(): Promise<void>
}

export interface LambdaOptions {
  readonly env?: Env
  readonly knownRoutes?: readonly KnownRoute[]
  /**
   * When the lifespans start: during the init phase (`lambdaFunction()` resolves once they
   * have), or at the first invocation. On Lambda (AWS_LAMBDA_FUNCTION_NAME is set) the init
   * phase; elsewhere the first invocation, so that loading a function's module (the dev
   * server, the build, a Worker load every route's) starts nothing.
   */
  readonly startup?: 'init' | 'first-invocation'
}

/** Lambda sets it in every function's environment (as the local emulator does). */
export function onLambda(): boolean {
  return globalThis.process?.env?.AWS_LAMBDA_FUNCTION_NAME !== undefined
}

/** Collects the background work an invocation hands over, so the handler can wait for it. */
class InvocationContext implements ExecutionContext {
  readonly pending: Promise<unknown>[] = []
  props: unknown = {}

  waitUntil(promise: Promise<unknown>): void {
    this.pending.push(promise)
  }

  passThroughOnException(): void {}

  async settle(): Promise<void> {
    while (this.pending.length > 0) await Promise.allSettled(this.pending.splice(0))
  }
}

type AnyEvent = Record<string, unknown> & { requestContext?: Record<string, unknown> }

/** The method and path an event names, wherever its payload version puts them. */
function methodAndPath(event: AnyEvent): { method: unknown; path: unknown } {
  if (isPayloadV2(event)) return { method: (event.requestContext.http as { method?: unknown } | undefined)?.method, path: event.rawPath }
  return { method: event.httpMethod ?? event.method, path: event.path }
}

/** The event as Hono should read it: without a named stage's prefix, without a GET's body. */
function normalized(event: AnyEvent, method: string): AnyEvent {
  let out = event
  const stage = event.requestContext?.stage
  if (typeof event.rawPath === 'string' && typeof stage === 'string' && stage !== '$default') {
    const prefix = `/${stage}`
    if (event.rawPath === prefix || event.rawPath.startsWith(`${prefix}/`)) out = { ...out, rawPath: event.rawPath.slice(prefix.length) || '/' }
  }
  if ((method === 'GET' || method === 'HEAD') && out.body) out = { ...out, body: undefined, isBase64Encoded: false }
  return out
}

export async function lambdaFunction(routes: Hono<AppEnv> | readonly Hono<AppEnv>[], options: LambdaOptions = {}): Promise<LambdaFunction> {
  const env = options.env ?? process.env
  const cache = new StaleCache()
  const app = createApp({ routes, ...options, env, cache, tellsInit: true })
  // Only a function with a route that uses the shared cache connects to it, as it
  // starts (Lambda's init), not when its module is merely loaded. The client is imported only
  // then: its settings read the configuration (valibot), which other functions do not carry.
  const cached = app.routes.some(usesSharedCache)
  const startup = async () => {
    if (cached) cache.useShared(await (await import('../cache/redis.ts')).sharedStoreFromEnv(env))
    await app.startup()
  }
  let started: Promise<void> | undefined
  const start = () =>
    (started ??= startup().catch((error: unknown) => {
      started = undefined // a later invocation tries again
      log('error', 'function failed to start', { routes: app.routes.map((item) => item.key), error })
      throw error
    }))
  let stopped: Promise<void> | undefined
  const shutdown = () => (stopped ??= started === undefined ? app.shutdown() : started.catch(() => undefined).then(() => app.shutdown()))
  if ((options.startup ?? (onLambda() ? 'init' : 'first-invocation')) === 'init') {
    await start()
    process.once('SIGTERM', function onSigterm() {
      void shutdown().finally(() => process.exit(0))
    })
  }

  // For payloads other than 2.0, hono/aws-lambda reads the event and writes the result; the app
  // gets each invocation's execution context (for `waitUntil`), found again by its Lambda context.
  // It is loaded with the first such event: HTTP APIs and Function URLs send 2.0, and its code
  // would be in every cold start.
  const invocations = new WeakMap<object, InvocationContext>()
  let viaHono: Promise<(event: AnyEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>> | undefined
  const honoAdapter = async () => {
    const { handle } = await import('hono/aws-lambda')
    return handle({
      fetch(request: Request, bindings: { lambdaContext: object }) {
        const invocation = new InvocationContext()
        invocations.set(bindings.lambdaContext, invocation)
        return app.hono.fetch(request, bindings, invocation)
      },
    } as never) as unknown as (event: AnyEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>
  }

  /** The contract's 400 for an event no request can be made of, with a request id and a log line. */
  const unreadable = (event: AnyEvent, method: unknown, path: unknown): APIGatewayProxyStructuredResultV2 => {
    const requestId = typeof event.requestContext?.requestId === 'string' ? event.requestContext.requestId : undefined
    const reply = app.unreadable(String(method ?? '-'), String(path ?? '-'), requestId)
    return { statusCode: reply.status, headers: reply.headers, body: reply.body ?? '', isBase64Encoded: false }
  }

  const handler: HttpApiHandler = async (received, context) => {
    const event = received as unknown as AnyEvent
    const { method, path } = methodAndPath(event)
    if (typeof method !== 'string' || typeof path !== 'string' || !path.startsWith('/')) return unreadable(event, method, path)
    await start()
    const readable = normalized(event, method.toUpperCase())
    if (!isPayloadV2(readable)) return viaHonoAdapter(readable, context, method, path)
    let request: Request
    try {
      request = requestOfEvent(readable)
    } catch {
      return unreadable(event, method, path) // a header value a web Request refuses
    }
    const invocation = new InvocationContext()
    const response = await app.hono.fetch(request, { event: received, requestContext: readable.requestContext, lambdaContext: context }, invocation)
    const result = await resultOfResponse(response)
    const headers = result.headers as Record<string, string>
    addSafetyHeaders((name) => name in headers, (name, value) => (headers[name] = value))
    if (invocation.pending.length > 0) await invocation.settle()
    return result
  }

  /** Payload 1.0, ALB and the rest: hono/aws-lambda reads the event and writes the result. */
  async function viaHonoAdapter(event: AnyEvent, context: Context, method: string, path: string): Promise<APIGatewayProxyStructuredResultV2> {
    const result = await (await (viaHono ??= honoAdapter()))(event, context)
    const invocation = invocations.get(context)
    // No invocation: hono/aws-lambda could not make a request of the event and answered in text.
    if (invocation === undefined) return unreadable(event, method, path)
    invocations.delete(context)
    await invocation.settle()
    return result
  }
  return { handler, app, shutdown }
}
