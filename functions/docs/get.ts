// GET /docs: the API's interactive documentation, Swagger UI over /openapi.json, with its
// files from GET /docs/{file} (lib/http/swagger-ui.ts): this function carries neither them
// nor any route code.
import { Hono } from 'hono/tiny'
import type { AppEnv } from '../../lib/http/env.ts'
import { lambdaFunction } from '../../lib/http/lambda.ts'
import { describe } from '../../lib/http/declarations.ts'
import { DOCS_CSP, swaggerUiPage } from '../../lib/http/swagger-ui.ts'
import { API_INFO } from '../../lib/manifest.ts'

const page = swaggerUiPage(API_INFO.title)

export const route = new Hono<AppEnv>().get('/docs', describe({ summary: 'API documentation', hidden: true }), (c) =>
  c.body(page, 200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': DOCS_CSP }),
)

export const { handler, shutdown, app } = await lambdaFunction(route)
