/**
 * Turns routes into the handler of one Lambda function. `lambdaFunction()` is awaited at
 * module level, so the lifespans start during Lambda's init phase, before the first
 * request, and a failed startup fails the instance there, once, with one log line. SIGTERM,
 * which Lambda sends before it stops an instance, runs the shutdown. Background tasks are
 * awaited before the handler returns: a frozen instance would not run them.
 *
 * An event of one of the function's own routes (API Gateway names it in `routeKey`) goes
 * straight from the event to the pipeline and back to a result, with no web `Request` or
 * `Response` made unless the code asks for one. Anything else goes through Hono (via
 * hono/aws-lambda), which answers 404 or 405 as the dev server does.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda'
import { Hono, type ExecutionContext } from 'hono'
import { defaultIsContentTypeBinary, handle } from 'hono/aws-lambda'
import { encodeBase64 } from 'hono/utils/encode'
import type { Env } from '../config.ts'
import { log } from '../log.ts'
import { createApp, type App, type KnownRoute } from './app.ts'
import { fromLambdaEvent, pathPattern, type LambdaBindings } from './incoming.ts'
import { isResponse, type Outcome } from './reply.ts'
import type { Route } from './route.ts'
import { sharedStoreFromEnv } from '../cache/redis.ts'
import { StaleCache } from './stale-cache.ts'

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

/** A pipeline outcome as API Gateway's result: text as it is, binary types in base64. */
async function toResult(outcome: Outcome): Promise<APIGatewayProxyStructuredResultV2> {
  if (!isResponse(outcome)) {
    return { statusCode: outcome.status, headers: outcome.headers, body: outcome.body ?? '', isBase64Encoded: false }
  }
  const headers: Record<string, string> = {}
  const cookies: string[] = []
  outcome.headers.forEach((value, name) => {
    if (name === 'set-cookie') cookies.push(value)
    else headers[name] = value
  })
  const binary = defaultIsContentTypeBinary(outcome.headers.get('content-type') ?? '')
  const body = binary ? encodeBase64(await outcome.arrayBuffer()) : await outcome.text()
  return { statusCode: outcome.status, headers, ...(cookies.length > 0 ? { cookies } : {}), body, isBase64Encoded: binary }
}

export async function lambdaFunction(routes: Route | readonly Route[], options: LambdaOptions = {}): Promise<LambdaFunction> {
  const list: readonly Route[] = Array.isArray(routes) ? routes : [routes as Route]
  const env = options.env ?? process.env
  // Only a function with a route that may answer stale connects to the shared cache.
  const shared = list.some((item) => item.fallback) ? await sharedStoreFromEnv(env) : undefined
  const app = createApp({ routes: list, ...options, env, cache: new StaleCache({ shared }), tellsInit: true })
  try {
    await app.startup()
  } catch (error) {
    log('error', 'function failed to start', { routes: list.map((item) => item.key), error })
    throw error
  }
  let stopped: Promise<void> | undefined
  const shutdown = () => (stopped ??= app.shutdown())
  process.once('SIGTERM', function onSigterm() {
    void shutdown().finally(() => process.exit(0))
  })

  const patterns = new Map(list.map((item) => [item.key, { pattern: pathPattern(item.path) }]))

  // Hono's way in, for requests no route of this function takes; each request gets an
  // execution context, found again by its Lambda context.
  const invocations = new WeakMap<object, InvocationContext>()
  const adapter = new Hono<{ Bindings: LambdaBindings }>()
  adapter.fetch = (request, env) => {
    const invocation = new InvocationContext()
    const key = (env as LambdaBindings | undefined)?.lambdaContext
    if (key !== undefined) invocations.set(key, invocation)
    return app.hono.fetch(request, env, invocation)
  }
  // hono/aws-lambda declares its own event and result types, which differ from @types/aws-lambda's
  // in optional fields (`body?`) under exactOptionalPropertyTypes; the shapes are the same.
  const viaHono = handle(adapter) as unknown as HttpApiHandler

  const handler: HttpApiHandler = async (event, context) => {
    const route = patterns.get(event.routeKey)
    if (route !== undefined) {
      const invocation = new InvocationContext()
      const incoming = fromLambdaEvent(event, context, route, (work) => invocation.waitUntil(work))
      const result = await toResult(await (app.dispatch(event.routeKey, incoming) as Promise<Outcome>))
      await invocation.settle()
      return result
    }
    const result = await viaHono(event, context)
    const invocation = invocations.get(context)
    if (invocation !== undefined) {
      invocations.delete(context)
      await invocation.settle()
    }
    return result
  }
  return { handler, app, shutdown }
}
