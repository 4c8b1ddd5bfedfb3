/**
 * `GET /openapi.json` and `GET /docs`, described from the routes they are given (and, as in
 * FastAPI, left out of the document themselves). The document is built once per instance,
 * on first use.
 */
import { renderDocsPage } from '../http/docs-page.ts'
import { openApiDocument, type ApiInfo } from '../http/openapi.ts'
import { route, type Route } from '../http/route.ts'

export const OPENAPI_PATH = '/openapi.json'

export function docsRoutes(describe: () => readonly Route[], info: ApiInfo): { readonly openapi: Route; readonly docs: Route } {
  let text: string | undefined
  let page: string | undefined
  const documentText = () => (text ??= JSON.stringify(openApiDocument(describe(), info)))
  const openapi = route({
    method: 'GET',
    path: OPENAPI_PATH,
    summary: 'OpenAPI document',
    handler: () => new Response(documentText(), { headers: { 'content-type': 'application/json; charset=utf-8' } }),
  })
  const docs = route({
    method: 'GET',
    path: '/docs',
    summary: 'API documentation',
    handler: () =>
      new Response((page ??= renderDocsPage(JSON.parse(documentText()) as Record<string, unknown>, OPENAPI_PATH)), {
        headers: { 'content-type': 'text/html; charset=utf-8' },
      }),
  })
  return { openapi, docs }
}
