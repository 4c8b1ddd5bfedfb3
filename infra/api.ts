/**
 * The HTTP API: one function per manifest route, each linked to the secrets its code reads
 * through `Resource` (lib/config.ts) and to no others; and the same routes as one Cloudflare
 * Worker. Set the secrets once per stage:
 *   npx sst secret set DatabaseUrl 'postgres://…neon.tech/db?sslmode=require' --stage production
 *   npx sst secret set JwtSecret "$(openssl rand -base64 48)" --stage production
 *   npx sst secret set AdminUsername boss --stage production
 *   npx sst secret set AdminPassword '…' --stage production
 * and, optionally, DatabaseReplicaUrl and RedisUrl.
 */
import { DEFAULT_ENTRY, DEFAULT_FUNCTION, FUNCTION_TIMEOUT_SECONDS, MANIFEST, memoryOf, type Secret } from '../lib/manifest'

const handlerOf = (entry: string) => entry.replace(/\.ts$/, '.handler')

export function createSecrets() {
  return {
    DatabaseUrl: new sst.Secret('DatabaseUrl'),
    JwtSecret: new sst.Secret('JwtSecret'),
    // Optional: the placeholder '' reads as unset (lib/config.ts treats an empty value so).
    DatabaseReplicaUrl: new sst.Secret('DatabaseReplicaUrl', ''),
    // A Redis reachable from Lambda without a VPC (TLS, e.g. Upstash): `rediss://…`. A VPC
    // for sst.aws.Redis would put every function in it, and cold starts and NAT would cost more.
    RedisUrl: new sst.Secret('RedisUrl', ''),
    // The first super_admin, created by `npx sst shell --stage <stage> -- npm run migrate`.
    AdminUsername: new sst.Secret('AdminUsername'),
    AdminPassword: new sst.Secret('AdminPassword'),
  } satisfies Record<Secret | 'AdminUsername' | 'AdminPassword', unknown>
}

export type Secrets = ReturnType<typeof createSecrets>

export function createApi(secrets: Secrets) {
  const api = new sst.aws.ApiGatewayV2('Api')
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
      link: route.secrets.map((name) => secrets[name]),
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
  })
  return api
}

/** Every route as one Worker: a Neon Pool per request, closed after it (lib/edge/worker.ts). */
export function createEdge(secrets: Secrets) {
  return new sst.cloudflare.Worker('Edge', {
    handler: 'functions/edge/worker.ts',
    url: true,
    link: [secrets.DatabaseUrl, secrets.DatabaseReplicaUrl, secrets.JwtSecret],
  })
}
