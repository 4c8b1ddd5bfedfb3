/**
 * `npm run build`: one minified ESM bundle per function of `lib/manifest.ts`, as Lambda would
 * load it (node22, tree-shaken), written to dist/ and listed with its size. SST bundles the
 * same entries itself on deploy; this build is how we see what each cold start loads.
 */
import { gzipSync } from 'node:zlib'
import { readFileSync } from 'node:fs'
import { build } from 'esbuild'
import { DEFAULT_ENTRY, MANIFEST } from '../manifest.ts'
import { fail } from './cli.ts'

export const OUT_DIR = 'dist'

export interface BundleSize {
  readonly entry: string
  readonly file: string
  readonly bytes: number
  readonly gzipBytes: number
}

export async function buildFunctions(outdir = OUT_DIR): Promise<BundleSize[]> {
  const entries = [...new Set([...MANIFEST.map((route) => route.entry), DEFAULT_ENTRY])]
  const result = await build({
    entryPoints: entries,
    outbase: '.',
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    minify: true,
    treeShaking: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    // Node 22 has a global WebSocket; `ws` is only for Node 20 and is never loaded on Lambda.
    external: ['ws'],
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  })
  return Object.entries(result.metafile.outputs)
    .filter(([, output]) => output.entryPoint !== undefined)
    .map(([file, output]) => {
      const bytes = readFileSync(file)
      return { entry: output.entryPoint ?? file, file, bytes: bytes.length, gzipBytes: gzipSync(bytes).length }
    })
    .sort((a, b) => a.entry.localeCompare(b.entry))
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const sizes = await buildFunctions()
    const width = Math.max(...sizes.map((size) => size.file.length))
    console.log(`${'bundle'.padEnd(width)}  ${'size'.padStart(9)}  ${'gzip'.padStart(9)}`)
    for (const size of sizes) {
      console.log(`${size.file.padEnd(width)}  ${kb(size.bytes).padStart(9)}  ${kb(size.gzipBytes).padStart(9)}`)
    }
  } catch (error) {
    fail(error)
  }
}
