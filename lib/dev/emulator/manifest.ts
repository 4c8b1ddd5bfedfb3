/**
 * Every function of the manifest built (as `npm run build` does) and described for the
 * emulator: its route key, bundle, memory and timeout, plus the `$default` function that
 * answers what no route takes. Used by `npm run dev:lambda` and the load tool.
 */
import { DEFAULT_ENTRY, DEFAULT_FUNCTION, FUNCTION_TIMEOUT_SECONDS, MANIFEST, memoryOf } from '../../manifest.ts'
import { buildFunction } from '../build.ts'
import type { FunctionSpec } from './emulator.ts'

export async function buildManifestFunctions(outdir: string): Promise<FunctionSpec[]> {
  const functions: FunctionSpec[] = []
  for (const route of MANIFEST) {
    const bundle = (await buildFunction(route.entry, outdir)).file
    functions.push({ routeKey: `${route.method} ${route.path}`, bundle, timeoutMs: FUNCTION_TIMEOUT_SECONDS * 1000, memoryMb: memoryOf(route) })
  }
  const fallback = (await buildFunction(DEFAULT_ENTRY, outdir)).file
  functions.push({ routeKey: '$default', bundle: fallback, timeoutMs: DEFAULT_FUNCTION.timeoutSeconds * 1000, memoryMb: DEFAULT_FUNCTION.memoryMb })
  return functions
}
