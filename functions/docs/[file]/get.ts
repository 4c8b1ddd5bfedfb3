// GET /docs/{file}: Swagger UI's files, for the page at /docs (lib/http/swagger-ui.ts). On
// Lambda they are copied beside this function's bundle (`config.files`); elsewhere they are
// read from node_modules. Each is read once per instance, and gzipped once for browsers that
// take it: the bundle is 1.7 MB as it ships and about 0.5 MB gzipped.
import { Hono } from 'hono/tiny'
import type { AppEnv } from '../../../lib/http/env.ts'
import { HttpError } from '../../../lib/http/errors.ts'
import { lambdaFunction } from '../../../lib/http/lambda.ts'
import { describe } from '../../../lib/http/declarations.ts'
import { SWAGGER_UI_COPIED, SWAGGER_UI_FILES, SWAGGER_UI_INITIALIZER, SWAGGER_UI_VERSION } from '../../../lib/http/swagger-ui.ts'

export const config = { files: SWAGGER_UI_COPIED }

interface Served {
  readonly plain: Uint8Array<ArrayBuffer>
  gzipped?: Uint8Array<ArrayBuffer>
}

const served = new Map<string, Promise<Served>>()

/** Where the files are: beside the bundle on Lambda (its task root), else the npm package. */
async function folder(): Promise<string> {
  // Set by the Lambda runtime (and the local emulator) to the function's unpacked package.
  const root = globalThis.process?.env.LAMBDA_TASK_ROOT
  if (root) return `${root}/swagger-ui`
  const [{ createRequire }, { dirname }] = await Promise.all([import('node:module'), import('node:path')])
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
}

async function read(name: string): Promise<Served> {
  if (name === 'swagger-initializer.js') return { plain: new TextEncoder().encode(SWAGGER_UI_INITIALIZER) }
  const { readFile } = await import('node:fs/promises')
  return { plain: new Uint8Array(await readFile(`${await folder()}/${name}`)) }
}

async function gzipped(file: Served): Promise<Uint8Array<ArrayBuffer>> {
  if (file.gzipped === undefined) {
    const { gzipSync } = await import('node:zlib')
    file.gzipped = new Uint8Array(gzipSync(file.plain))
  }
  return file.gzipped
}

export const route = new Hono<AppEnv>().get('/docs/:file', describe({ summary: 'Swagger UI’s files', hidden: true }), async (c) => {
  const name = c.req.param('file')
  const type = Object.hasOwn(SWAGGER_UI_FILES, name) ? SWAGGER_UI_FILES[name] : undefined
  if (type === undefined) throw new HttpError(404, 'Not Found')
  let pending = served.get(name)
  if (pending === undefined) {
    pending = read(name)
    served.set(name, pending)
    // A file that could not be read is tried again by the next request, not remembered as missing.
    pending.catch(() => served.delete(name))
  }
  const file = await pending
  const headers: Record<string, string> = {
    'content-type': type,
    // The page asks for each file with Swagger UI's version in its URL: that URL never changes.
    'cache-control': c.req.query('v') === SWAGGER_UI_VERSION ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
    vary: 'accept-encoding',
  }
  if (type.startsWith('image/') || !/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) return c.body(file.plain, 200, headers)
  return c.body(await gzipped(file), 200, { ...headers, 'content-encoding': 'gzip' })
})

export const { handler, shutdown, app } = await lambdaFunction(route)
