/**
 * A documentation page rendered on the server from the OpenAPI document: every operation
 * with its parameters, body and responses. It needs no script and nothing from a CDN, so it
 * works offline and from a 128 MB function; tools that want more take `/openapi.json`.
 */
type JsonObject = Record<string, unknown>

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

function escape(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char)
}

function schemaText(schema: unknown): string {
  return escape(JSON.stringify(schema ?? {}, null, 2))
}

function parametersTable(parameters: JsonObject[]): string {
  if (parameters.length === 0) return ''
  const rows = parameters
    .map(
      (p) =>
        `<tr><td><code>${escape(p.name)}</code></td><td>${escape(p.in)}</td><td>${p.required ? 'required' : 'optional'}</td><td><code>${escape(
          JSON.stringify(p.schema ?? {}),
        )}</code></td></tr>`,
    )
    .join('')
  return `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th></th><th>schema</th></tr></thead><tbody>${rows}</tbody></table>`
}

function bodySection(body: JsonObject | undefined): string {
  if (!body) return ''
  const content = (body.content ?? {}) as Record<string, { schema?: unknown }>
  const parts = Object.entries(content)
    .map(([type, media]) => `<p><code>${escape(type)}</code></p><pre>${schemaText(media.schema)}</pre>`)
    .join('')
  return `<h4>Request body</h4>${parts}`
}

function responsesSection(responses: JsonObject): string {
  const items = Object.entries(responses)
    .map(([status, response]) => {
      const { description, content } = response as { description?: string; content?: Record<string, { schema?: unknown }> }
      const schema = content ? Object.values(content)[0]?.schema : undefined
      return `<li><strong>${escape(status)}</strong> ${escape(description ?? '')}${schema ? `<pre>${schemaText(schema)}</pre>` : ''}</li>`
    })
    .join('')
  return `<h4>Responses</h4><ul class="responses">${items}</ul>`
}

export function renderDocsPage(document: JsonObject, openapiPath: string): string {
  const info = (document.info ?? {}) as { title?: string; version?: string; description?: string }
  const paths = (document.paths ?? {}) as Record<string, Record<string, JsonObject>>
  const operations = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const id = escape(operation.operationId ?? `${method}-${path}`)
      return `<section class="operation" id="${id}" data-method="${escape(method.toUpperCase())}" data-path="${escape(path)}">
<h3><span class="method ${escape(method)}">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code></h3>
${operation.summary ? `<p class="summary">${escape(operation.summary)}</p>` : ''}${operation.description ? `<p>${escape(operation.description)}</p>` : ''}
${parametersTable((operation.parameters ?? []) as JsonObject[])}${bodySection(operation.requestBody as JsonObject | undefined)}${responsesSection((operation.responses ?? {}) as JsonObject)}
</section>`
    }),
  )
  const index = Object.entries(paths)
    .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
    .map(({ path, method, op }) => `<li><a href="#${escape(op.operationId ?? '')}"><span class="method ${escape(method)}">${escape(method.toUpperCase())}</span> ${escape(path)}</a></li>`)
    .join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(info.title ?? 'API')} - docs</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 1.5rem;color:#1f2328}
code,pre{font:13px ui-monospace,monospace}pre{background:#f6f8fa;padding:.5rem;overflow:auto;border-radius:6px}
.method{display:inline-block;min-width:4.2rem;text-align:center;border-radius:4px;color:#fff;font-weight:600;font-size:12px;padding:2px 6px}
.get{background:#2f81f7}.post{background:#1a7f37}.put{background:#9a6700}.patch{background:#8250df}.delete{background:#cf222e}
section.operation{border-top:1px solid #d0d7de;padding:.5rem 0}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:2px 8px;text-align:left}
ul.index{list-style:none;padding:0}ul.index a{text-decoration:none;color:inherit}
</style></head>
<body><header><h1>${escape(info.title ?? 'API')} <small>${escape(info.version ?? '')}</small></h1>
${info.description ? `<p>${escape(info.description)}</p>` : ''}<p>OpenAPI 3.1 document: <a href="${escape(openapiPath)}">${escape(openapiPath)}</a></p></header>
<nav><h2>Operations</h2><ul class="index">${index}</ul></nav>
<main>${operations.join('\n')}</main></body></html>`
}
