/**
 * The HTTP API: one function per route file of functions/ (lib/generated/functions.json), each linked to the values its code reads
 * through `Resource` (lib/config.ts) and to no others (infra/secrets.ts); and, when
 * EDGE_WORKER=1, the same routes as one Cloudflare Worker.
 *
 * One CORS policy (CORS_ORIGINS, lib/http/cors-policy.ts) for all of them: API Gateway's own
 * (it answers preflights and replaces the functions' CORS headers; SST's default would allow
 * every origin), and in each function's and the Worker's environment, so that their
 * middleware answers the same wherever they are reached otherwise.
 */
import { apiGatewayCors, corsOriginsValue, type CorsPolicy } from '../lib/http/cors-policy'
import { DEFAULT_ENTRY, DEFAULT_FUNCTION, FUNCTION_TIMEOUT_SECONDS, MANIFEST, memoryOf, type Secret } from '../lib/manifest'
import { linksOf, type Links } from './secrets'

const handlerOf = (entry: string) => entry.replace(/\.ts$/, '.handler')

/** Where logs and metrics say they come from (lib/telemetry.ts), and whether Lambda traces the functions. */
export interface Observability {
  /** POWERTOOLS_SERVICE_NAME: the app's name. */
  readonly service: string
  /** STAGE: the stage's name, a dimension of every metric, so that stages never share a series. */
  readonly stage: string
  readonly tracing: boolean
}

/** What a function or the Worker is told: CORS_ORIGINS (nothing for no policy), the service and the stage. */
const environmentOf = (cors: CorsPolicy | undefined, observability: Observability): Record<string, string> => ({
  ...(cors === undefined ? {} : { CORS_ORIGINS: corsOriginsValue(cors) }),
  POWERTOOLS_SERVICE_NAME: observability.service,
  STAGE: observability.stage,
})

/** Lambda's active tracing, and the function's right to send to X-Ray. */
const TRACING = {
  transform: { function: { tracingConfig: { mode: 'Active' } } },
  permissions: [{ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }],
}

export function createApi(links: Links, cors: CorsPolicy | undefined, observability: Observability) {
  const api = new sst.aws.ApiGatewayV2('Api', { cors: apiGatewayCors(cors) })
  const environment = environmentOf(cors, observability)
  const tracing = observability.tracing ? TRACING : {}
  for (const route of MANIFEST) {
    api.route(`${route.method} ${route.path}`, {
      handler: handlerOf(route.entry),
      // Lambda's current Node.js runtime: it has a global WebSocket for the Neon driver.
      runtime: 'nodejs22.x',
      // Graviton: cheaper per GB-second than x86_64, and no native modules to rebuild.
      architecture: 'arm64',
      // Lambda gives CPU in proportion to memory; 512 MB keeps init (module load, first
      // connection) short without paying for memory the functions do not use. Routes that
      // hash passwords get more, for the CPU.
      memory: `${memoryOf(route)} MB`,
      // One request per instance; the retries and fallbacks work inside this deadline.
      timeout: `${FUNCTION_TIMEOUT_SECONDS} seconds`,
      link: linksOf(links, route.secrets as readonly Secret[]),
      environment,
      // Files the function reads beside its bundle (the docs' Swagger UI).
      ...(route.files ? { copyFiles: route.files.map((file) => ({ ...file })) } : {}),
      ...tracing,
    })
  }
  // Whatever no route takes: FastAPI's 404, or 405 with Allow (API Gateway's own 404 is not
  // in the contract's shape). It reads no secret.
  api.route('$default', {
    handler: handlerOf(DEFAULT_ENTRY),
    runtime: 'nodejs22.x',
    architecture: 'arm64',
    memory: `${DEFAULT_FUNCTION.memoryMb} MB`,
    timeout: `${DEFAULT_FUNCTION.timeoutSeconds} seconds`,
    environment,
    ...tracing,
  })
  return api
}

/** Every route as one Worker: a Neon Pool per request, closed after it (lib/edge/worker.ts). */
export function createEdge(links: Links, cors: CorsPolicy | undefined, observability: Observability) {
  return new sst.cloudflare.Worker('Edge', {
    handler: 'functions/_edge.ts',
    url: true,
    link: linksOf(links, ['DatabaseUrl', 'DatabaseReplicaUrl', 'JwtSecret']),
    environment: environmentOf(cors, observability),
  })
}
