// GET /openapi.json: the OpenAPI document, as `npm run routes` wrote it from the routes'
// declarations (lib/generated/openapi.json): this function carries no route code.
import { Hono } from 'hono/tiny'
import document from '../../lib/generated/openapi.json' with { type: 'json' }
import type { AppEnv } from '../../lib/http/env.ts'
import { lambdaFunction } from '../../lib/http/lambda.ts'
import { describe } from '../../lib/http/declarations.ts'

const text = JSON.stringify(document)

export const route = new Hono<AppEnv>().get('/openapi.json', describe({ summary: 'OpenAPI document', hidden: true }), (c) =>
  c.body(text, 200, { 'content-type': 'application/json; charset=utf-8' }),
)

export const { handler, shutdown, app } = await lambdaFunction(route)
