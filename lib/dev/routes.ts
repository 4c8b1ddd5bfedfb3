/**
 * `npm run routes`: what is derived from the route files of functions/, written to
 * lib/generated/ for what cannot load route code where it runs:
 *
 * - functions.json: method, path, entry, secrets and memory of each function, which SST
 *   deploys (sst.config.ts reads no route code);
 * - openapi.json: the OpenAPI document, which the /openapi.json and /docs functions serve
 *   without any route code;
 * - routes.ts: every route, for the Worker (one module with all of them) and the type of
 *   the whole API, for typed clients (`hc<Api>`).
 *
 * `npm run dev` rewrites them when a route changed; `npm run build` and `npm test` fail when
 * they are stale (`--check`), so what is deployed cannot drift from the code.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { loadFunctions, type LoadedFunction } from '../functions.ts'
import { openApiDocument } from '../http/openapi.ts'
import { API_INFO } from '../manifest.ts'
import { fail } from './cli.ts'

export const GENERATED_DIR = 'lib/generated'

function routesModule(functions: readonly LoadedFunction[]): string {
  const names = functions.map((_, index) => `r${index}`)
  const from = (entry: string) => `../../${entry}`
  return [
    '// Written by `npm run routes` from functions/ (lib/dev/routes.ts): do not edit.',
    "import type { Hono } from 'hono'",
    "import type { ExtractSchema } from 'hono/types'",
    "import type { AppEnv } from '../http/env.ts'",
    ...functions.map((item, index) => `import type { route as ${names[index]} } from '${from(item.entry)}'`),
    '',
    '/** The whole API as one Hono app type, for `hc<Api>()` and `testClient`. */',
    `export type Api = Hono<AppEnv, ${names.map((name) => `ExtractSchema<typeof ${name}>`).join(' & ')}>`,
    '',
    '/** Every route, loaded on demand (the Worker serves them all from one module). */',
    'export async function loadRoutes(): Promise<Hono<AppEnv>[]> {',
    '  const modules = await Promise.all([',
    ...functions.map((item) => `    import('${from(item.entry)}'),`),
    '  ])',
    '  return modules.map((module) => module.route as unknown as Hono<AppEnv>)',
    '}',
    '',
  ].join('\n')
}

/** The files of lib/generated/ as the route files say they should be (loaded here unless given). */
export async function derivedFiles(root = process.cwd(), loaded?: readonly LoadedFunction[]): Promise<Record<string, string>> {
  const functions = loaded ?? (await loadFunctions(root))
  const manifest = functions.map(({ route: _route, info: _info, ...entry }) => entry)
  const document = openApiDocument(
    functions.map((item) => item.info),
    API_INFO,
  )
  return {
    [join(GENERATED_DIR, 'functions.json')]: `${JSON.stringify(manifest, null, 2)}\n`,
    [join(GENERATED_DIR, 'openapi.json')]: `${JSON.stringify(document, null, 2)}\n`,
    [join(GENERATED_DIR, 'routes.ts')]: routesModule(functions),
  }
}

/** Files of lib/generated/ that differ from what the routes say; empty when all are current. */
export async function staleFiles(root = process.cwd()): Promise<string[]> {
  const files = await derivedFiles(root)
  return Object.entries(files)
    .filter(([file, content]) => !existsSync(join(root, file)) || readFileSync(join(root, file), 'utf8') !== content)
    .map(([file]) => file)
}

/** Fails, naming the files and the command, when lib/generated/ is not what the routes say. */
export async function assertDerivedFilesCurrent(root = process.cwd()): Promise<void> {
  const stale = await staleFiles(root)
  if (stale.length > 0) throw new Error(`${stale.join(', ')} ${stale.length === 1 ? 'is' : 'are'} not what functions/ says: run npm run routes`)
}

/** Writes what is stale; returns the files written. */
export async function writeDerivedFiles(root = process.cwd(), loaded?: readonly LoadedFunction[]): Promise<string[]> {
  const files = await derivedFiles(root, loaded)
  const written: string[] = []
  for (const [file, content] of Object.entries(files)) {
    const at = join(root, file)
    if (existsSync(at) && readFileSync(at, 'utf8') === content) continue
    mkdirSync(dirname(at), { recursive: true })
    writeFileSync(at, content)
    written.push(file)
  }
  return written
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    if (process.argv.includes('--check')) {
      await assertDerivedFilesCurrent()
      console.log('lib/generated/ is current')
    } else {
      const written = await writeDerivedFiles()
      console.log(written.length === 0 ? 'lib/generated/ is current' : `wrote ${written.join(', ')}`)
    }
  } catch (error) {
    fail(error)
  }
}
