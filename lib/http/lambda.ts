/**
 * Turns route groups into the handler of one Lambda function. The pool is created when the
 * module loads (Lambda's init phase) and lives as long as the instance; SIGTERM, which
 * Lambda sends before it stops an instance, closes it.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda'
import type { Hono } from 'hono'
import { handle } from 'hono/aws-lambda'
import { readFunctionConfig, type Env } from '../config.ts'
import { configureDriver } from '../db/driver.ts'
import { createPool } from '../db/pool.ts'
import { createApp, type AppEnv } from './app.ts'

/** The handler of an API Gateway HTTP API (payload 2.0) route, in @types/aws-lambda's terms. */
export type HttpApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>

export interface LambdaFunction {
  readonly handler: HttpApiHandler
  /** Closes the instance's pool; run on SIGTERM, and by tests. */
  shutdown(): Promise<void>
}

export async function createLambdaFunction(
  routes: readonly Hono<AppEnv>[],
  env: Env = process.env,
): Promise<LambdaFunction> {
  const config = readFunctionConfig(env)
  await configureDriver(config.driver)
  const pool = createPool({ url: config.databaseUrl })
  let closed: Promise<void> | undefined
  const shutdown = () => (closed ??= pool.end())
  process.once('SIGTERM', function onSigterm() {
    void shutdown().finally(() => process.exit(0))
  })
  const honoHandler = handle(createApp({ pool }, routes))
  const handler: HttpApiHandler = (event, context) =>
    // @ts-expect-error hono/aws-lambda declares its own event types, which differ from @types/aws-lambda's in optional fields (`body?`) under exactOptionalPropertyTypes.
    honoHandler(event, context)
  return { handler, shutdown }
}
