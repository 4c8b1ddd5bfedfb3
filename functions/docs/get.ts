// GET /docs: the API's documentation page, rendered from the OpenAPI document that
// `npm run routes` wrote (lib/generated/openapi.json): this function carries no route code.
import { Hono } from 'hono/tiny'
import document from '../../lib/generated/openapi.json' with { type: 'json' }
import { renderDocsPage } from '../../lib/http/docs-page.ts'
import type { AppEnv } from '../../lib/http/env.ts'
import { lambdaFunction } from '../../lib/http/lambda.ts'
import { describe } from '../../lib/http/declarations.ts'

let page: string | undefined

export const route = new Hono<AppEnv>().get('/docs', describe({ summary: 'API documentation', hidden: true }), (c) =>
  c.body((page ??= renderDocsPage(document, '/openapi.json')), 200, { 'content-type': 'text/html; charset=utf-8' }),
)

export const { handler, shutdown, app } = await lambdaFunction(route)
