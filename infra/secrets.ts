/**
 * What the functions are linked to. Deployed, the values are SST secrets (`sst secret set`),
 * but a stage must work without the ones that can be made: the token key is a random value
 * made once per stage and kept in its state (`sst secret set JwtSecret …` replaces it), and
 * the first admin's name defaults to `admin`. Only the database URL and the admin's password
 * must be set: `run()` stops a deploy without them, naming the commands (checkRequiredSecrets).
 *
 * In `sst dev` the database is the local one of infra/dev.ts, so no secret is needed at all.
 */
import type { Secret } from '../lib/manifest'

type Linked = sst.Secret | sst.Linkable<{ value: $util.Input<string> }>

/** Every value a function may be linked to, by the name `Resource` gives it (lib/config.ts). */
export type Links = Record<Secret, Linked> & {
  /** The local Neon WebSocket proxy, in `sst dev` only: linked beside DatabaseUrl. */
  readonly DatabaseWsProxy?: Linked
}

/** The database of a deployed stage: set once per stage (a Neon connection string). */
export function createDatabaseSecrets(): Pick<Links, 'DatabaseUrl'> & { AdminUsername: sst.Secret; AdminPassword: sst.Secret } {
  return {
    DatabaseUrl: new sst.Secret('DatabaseUrl'),
    // The first super_admin, created by `npx sst shell --stage <stage> -- npm run migrate`.
    AdminUsername: new sst.Secret('AdminUsername', 'admin'),
    AdminPassword: new sst.Secret('AdminPassword'),
  }
}

/** The values every stage has, dev mode included. */
export function createSharedSecrets(): Omit<Links, 'DatabaseUrl' | 'DatabaseWsProxy'> {
  // 64 letters and digits (HS256 wants a key of at least 32 bytes), made at the stage's first
  // deploy and kept: tokens survive deploys, and `sst remove` ends them with the stage.
  const tokenKey = new random.RandomPassword('JwtSecretGenerated', { length: 64, special: false })
  return {
    JwtSecret: new sst.Secret('JwtSecret', tokenKey.result),
    // Optional: the placeholder '' reads as unset (lib/config.ts treats an empty value so).
    DatabaseReplicaUrl: new sst.Secret('DatabaseReplicaUrl', ''),
    // A Redis reachable from Lambda without a VPC (TLS, e.g. Upstash): `rediss://…`. A VPC
    // for sst.aws.Redis would put every function in it, and cold starts and NAT would cost more.
    RedisUrl: new sst.Secret('RedisUrl', ''),
  }
}

/** What a function whose manifest entry names `secrets` is linked to. */
export function linksOf(links: Links, secrets: readonly Secret[]): Linked[] {
  const linked = secrets.map((name) => links[name])
  if (secrets.includes('DatabaseUrl') && links.DatabaseWsProxy) linked.push(links.DatabaseWsProxy)
  return linked
}
