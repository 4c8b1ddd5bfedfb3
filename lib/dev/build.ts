/**
 * `npm run build`: one minified ESM bundle per function of functions/ (lib/manifest.ts), as Lambda would
 * load it (node22, tree-shaken), each in its own folder of dist/ with the chunks it loads on
 * demand (the Redis client, only when REDIS_URL is set). It lists what each function loads at
 * start and what it may load later. SST bundles the same entries itself on deploy; this build
 * is how we see what each cold start loads.
 */
import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build, type BuildOptions, type Metafile } from 'esbuild'
import { DEFAULT_ENTRY, MANIFEST } from '../manifest.ts'
import { fail } from './cli.ts'
import { assertDerivedFilesCurrent } from './routes.ts'

export const OUT_DIR = 'dist'

export interface BundleSize {
  readonly entry: string
  readonly file: string
  /** Bytes loaded when the function starts: the entry and the chunks it imports statically. */
  readonly bytes: number
  readonly gzipBytes: number
  /** Bytes of chunks loaded only on demand (dynamic `import()`). */
  readonly lazyBytes: number
  /** The source files whose code is in the bundle, by the build's metafile (at start or on demand). */
  readonly inputs: readonly string[]
}

function loadedAtStart(metafile: Metafile, file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen
  seen.add(file)
  for (const imported of metafile.outputs[file]?.imports ?? []) {
    if (imported.kind === 'import-statement' && !imported.external) loadedAtStart(metafile, imported.path, seen)
  }
  return seen
}

/** What every bundle shares: one minified, tree-shaken ES module, and what it is made of. */
const BUNDLE = {
  bundle: true,
  minify: true,
  treeShaking: true,
  format: 'esm',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
} as const satisfies BuildOptions

export async function buildFunction(entry: string, outdir = OUT_DIR): Promise<BundleSize> {
  const folder = `${outdir}/${entry.replace(/\.ts$/, '')}`
  const result = await build({
    entryPoints: { index: entry },
    outdir: folder,
    outExtension: { '.js': '.mjs' },
    ...BUNDLE,
    splitting: true,
    platform: 'node',
    target: 'node22',
    // Node 22 has a global WebSocket; `ws` is only for Node 20 and is never loaded on Lambda.
    external: ['ws'],
    // CommonJS packages (ioredis) call require() for Node's built-ins; ESM has no require.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  })
  // What SST's copyFiles puts in the function's package, beside the bundle (its task root).
  for (const copied of MANIFEST.find((route) => route.entry === entry)?.files ?? []) cpSync(copied.from, join(folder, copied.to))
  const outputs = Object.keys(result.metafile.outputs)
  const file = outputs.find((name) => result.metafile.outputs[name]?.entryPoint !== undefined) as string
  const start = loadedAtStart(result.metafile, file)
  const startBytes = [...start].map((name) => readFileSync(name))
  const bytes = startBytes.reduce((sum, content) => sum + content.length, 0)
  const gzipBytes = startBytes.reduce((sum, content) => sum + gzipSync(content).length, 0)
  const lazyBytes = outputs.filter((name) => !start.has(name)).reduce((sum, name) => sum + (result.metafile.outputs[name]?.bytes ?? 0), 0)
  const inputs = [...new Set(outputs.flatMap((name) => Object.entries(result.metafile.outputs[name]?.inputs ?? {}).filter(([, input]) => input.bytesInOutput > 0).map(([input]) => input)))].sort()
  return { entry, file, bytes, gzipBytes, lazyBytes, inputs }
}

export async function buildFunctions(outdir = OUT_DIR): Promise<BundleSize[]> {
  const entries = [...new Set([...MANIFEST.map((route) => route.entry), DEFAULT_ENTRY])].sort()
  const sizes: BundleSize[] = []
  for (const entry of entries) sizes.push(await buildFunction(entry, outdir))
  return sizes
}

/** The Workers module (functions/_edge.ts) as workerd loads it: one ESM file. */
export const WORKER_ENTRY = 'functions/_edge.ts'

export async function buildWorker(outdir = OUT_DIR, entry: string = WORKER_ENTRY): Promise<BundleSize> {
  const file = `${outdir}/${entry.replace(/\.ts$/, '.mjs')}`
  await build({
    entryPoints: [entry],
    outfile: file,
    ...BUNDLE,
    platform: 'neutral',
    target: 'es2022',
    // workerd's own builds of packages that have one (sst/resource reads the Worker's env).
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    // Node's built-ins come from workerd (nodejs_compat).
    external: ['node:*', 'cloudflare:*'],
    // `ws` (Node 20 only) and ioredis (a TCP client, not for Workers) are imported only on
    // demand and never there: each becomes a module that says so if it is ever loaded.
    plugins: [
      {
        name: 'not-on-workers',
        setup(builder) {
          builder.onResolve({ filter: /^(ws|ioredis)$/ }, (args) => ({ path: args.path, namespace: 'not-on-workers' }))
          builder.onLoad({ filter: /.*/, namespace: 'not-on-workers' }, (args) => ({
            contents: `throw new Error(${JSON.stringify(`${args.path} is not available on Workers`)})`,
            loader: 'js',
          }))
        },
      },
    ],
  })
  const content = readFileSync(file)
  return { entry, file, bytes: content.length, gzipBytes: gzipSync(content).length, lazyBytes: 0, inputs: [] }
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    // What SST deploys is read from lib/generated/: it must say what functions/ says.
    await assertDerivedFilesCurrent()
    const sizes = [...(await buildFunctions()), await buildWorker()]
    const width = Math.max(...sizes.map((size) => size.entry.length))
    console.log(`${'function'.padEnd(width)}  ${'at start'.padStart(9)}  ${'gzip'.padStart(9)}  ${'on demand'.padStart(9)}`)
    for (const size of sizes) {
      console.log(`${size.entry.padEnd(width)}  ${kb(size.bytes).padStart(9)}  ${kb(size.gzipBytes).padStart(9)}  ${kb(size.lazyBytes).padStart(9)}`)
    }
  } catch (error) {
    fail(error)
  }
}
