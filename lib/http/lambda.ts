/**
 * Turns routes into the handler of one Lambda function. `lambdaFunction()` is awaited at
 * module level, so the lifespans start during Lambda's init phase, before the first
 * request, and a failed startup fails the instance there, once, with one log line. SIGTERM,
 * which Lambda sends before it stops an instance, runs the shutdown. Background tasks are
 * awaited before the handler returns: a frozen instance would not run them.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda'
import { Hono } from 'hono'
import { handle } from 'hono/aws-lambda'
import type { ExecutionContext } from 'hono'
import type { Env } from '../config.ts'
import { log } from '../log.ts'
import { createApp, type App, type KnownRoute } from './app.ts'
import type { LambdaBindings } from './pipeline.ts'
import type { Route } from './route.ts'

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

/**
 * Background work of the invocations in flight, keyed by their Lambda context: the pipeline
 * hands work to the execution context, and the handler waits for it before returning (a
 * frozen instance would not run it).
 */
class InvocationContext implements ExecutionContext {
  readonly pending: Promise<unknown>[] = []
  props: unknown = {}

  waitUntil(promise: Promise<unknown>): void {
    this.pending.push(promise)
  }

  passThroughOnException(): void {}
}

export async function lambdaFunction(routes: Route | readonly Route[], options: LambdaOptions = {}): Promise<LambdaFunction> {
  const list = Array.isArray(routes) ? routes : [routes as Route]
  const app = createApp({ routes: list, ...options })
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

  // hono/aws-lambda turns the event into a Request and the Response into the result; this
  // Hono's fetch gives each request an execution context, found again by its Lambda context.
  const invocations = new WeakMap<object, InvocationContext>()
  const adapter = new Hono<{ Bindings: LambdaBindings }>()
  adapter.fetch = (request, env) => {
    const invocation = new InvocationContext()
    const key = (env as LambdaBindings | undefined)?.lambdaContext
    if (key !== undefined) invocations.set(key, invocation)
    return app.hono.fetch(request, env, invocation)
  }
  const honoHandler = handle(adapter)
  // hono/aws-lambda declares its own event and result types, which differ from @types/aws-lambda's
  // in optional fields (`body?`) under exactOptionalPropertyTypes; the shapes are the same.
  const invoke = honoHandler as unknown as HttpApiHandler
  const handler: HttpApiHandler = async (event, context) => {
    const result = await invoke(event, context)
    const pending = invocations.get(context)?.pending
    if (pending !== undefined) {
      invocations.delete(context)
      while (pending.length > 0) await Promise.allSettled(pending.splice(0))
    }
    return result
  }
  return { handler, app, shutdown }
}
