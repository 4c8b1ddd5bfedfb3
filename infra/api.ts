/**
 * The HTTP API: one function per manifest route, each linked to the secrets it reads
 * through `Resource` (see lib/config.ts), and to no others. Set them once per stage:
 *   npx sst secret set DatabaseUrl 'postgres://…neon.tech/db?sslmode=require' --stage production
 *   npx sst secret set JwtSecret "$(openssl rand -base64 48)" --stage production
 *   npx sst secret set DatabaseReplicaUrl 'postgres://…' --stage production   (optional)
 */
import { DEFAULT_ENTRY, MANIFEST } from '../lib/manifest'

const handlerOf = (entry: string) => entry.replace(/\.ts$/, '.handler')

export function createApi() {
  const secrets = {
    DatabaseUrl: new sst.Secret('DatabaseUrl'),
    // Optional: the placeholder '' reads as "no replica" (lib/config.ts treats empty as unset).
    DatabaseReplicaUrl: new sst.Secret('DatabaseReplicaUrl', ''),
    JwtSecret: new sst.Secret('JwtSecret'),
  }

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
      memory: `${'memoryMb' in route ? route.memoryMb : 512} MB`,
      // One request per instance; the retries and fallbacks work inside this deadline.
      timeout: '10 seconds',
      link: route.secrets.map((name) => secrets[name]),
    })
  }
  // Whatever no route takes: FastAPI's 404, or 405 with Allow (API Gateway's own 404 is not
  // in the contract's shape).
  api.route('$default', { handler: handlerOf(DEFAULT_ENTRY), runtime: 'nodejs22.x', architecture: 'arm64', memory: '128 MB' })
  return api
}
