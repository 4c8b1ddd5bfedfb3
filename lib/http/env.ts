/**
 * What the toolkit puts on Hono's context: `c.env` as the Lambda adapter fills it (the
 * hono/aws-lambda names: `event`, `requestContext`, `lambdaContext`; a Worker's bindings on
 * Workers), and `c.var.scope`, the request's scope, which the app's first middleware sets.
 * Routes are `new Hono<AppEnv>()`; the dependencies a route `needs()` add their own
 * variables to `c.var`, typed.
 */
import type { RequestScope } from './depends.ts'

/** What Lambda tells a function about the invocation in flight. */
export interface LambdaInvocation {
  getRemainingTimeInMillis(): number
  readonly awsRequestId?: string
}

export interface LambdaBindings {
  /** The event as Lambda delivered it (payload 2.0 or 1.0, a Function URL's). */
  readonly event?: unknown
  readonly requestContext?: { readonly requestId?: string }
  readonly lambdaContext?: LambdaInvocation
}

export interface AppEnv {
  Bindings: LambdaBindings
  Variables: { scope: RequestScope }
}
