/**
 * Interactive docs, as FastAPI's `/docs` are: Swagger UI (swagger-ui-dist) over the OpenAPI
 * document, with its Authorize dialog (the OAuth2 password form, against the document's
 * tokenUrl) and "Try it out" on every route.
 *
 * The page is a few hundred bytes; Swagger UI's files (1.9 MB) are served by the project
 * itself from `GET /docs/{file}`, a function of their own: on Lambda they are files copied
 * beside that function's bundle (`config.files`, SST's `copyFiles`), elsewhere they are read
 * from node_modules. No CDN, and no function that serves the API carries them.
 *
 * Everything the page runs comes from the same origin (its Content-Security-Policy allows
 * no inline script), so the settings below are a script of their own, `swagger-initializer.js`.
 */
import packageJson from 'swagger-ui-dist/package.json' with { type: 'json' }

/** Swagger UI's version: in the files' URLs, so that browsers may keep them for good. */
export const SWAGGER_UI_VERSION: string = packageJson.version

const INITIALIZER = 'swagger-initializer.js'

/** The files `GET /docs/{file}` serves, by name, with their media types. */
export const SWAGGER_UI_FILES: Readonly<Record<string, string>> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  [INITIALIZER]: 'text/javascript; charset=utf-8',
}

/** What the docs' function copies beside its bundle on Lambda (SST's `copyFiles`). */
export const SWAGGER_UI_COPIED = Object.keys(SWAGGER_UI_FILES)
  .filter((name) => name !== INITIALIZER)
  .map((name) => ({ from: `node_modules/swagger-ui-dist/${name}`, to: `swagger-ui/${name}` }))

/** Allows what Swagger UI needs: its own files, inline styles, images as data URLs, requests to this origin. */
export const DOCS_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

function escape(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char)
}

/**
 * The page at `/docs`. Its URLs are relative (`docs/…`, `openapi.json`), so that it works
 * behind a path prefix as well as at the root.
 */
export function swaggerUiPage(title: string): string {
  const file = (name: string) => `docs/${name}?v=${SWAGGER_UI_VERSION}`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} - Swagger UI</title>
<link rel="stylesheet" href="${file('swagger-ui.css')}">
<link rel="icon" type="image/png" href="${file('favicon-32x32.png')}">
</head><body>
<div id="swagger-ui"><noscript>The interactive docs need JavaScript; the OpenAPI document is at <a href="openapi.json">openapi.json</a>.</noscript></div>
<script src="${file('swagger-ui-bundle.js')}"></script>
<script src="${file(INITIALIZER)}"></script>
</body></html>`
}

/** FastAPI's settings for Swagger UI, less what only a CDN build has. */
export const SWAGGER_UI_INITIALIZER = `window.ui = SwaggerUIBundle({
  url: new URL('../openapi.json', document.currentScript.src).href,
  dom_id: '#swagger-ui',
  layout: 'BaseLayout',
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
})
`
