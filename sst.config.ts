/// <reference path="./.sst/platform/config.d.ts" />

/**
 * SST (v3 configuration syntax, `sst` 4.x on npm). Each route of `lib/manifest.ts` deploys
 * as its own Lambda function behind one API Gateway HTTP API; with EDGE_WORKER=1, all of them
 * as one Cloudflare Worker too (not in `sst dev`). In `sst dev` the functions run on this
 * machine against the local database that `npm run dev:db` serves (infra/dev.ts), so no
 * cloud database and no secret is needed.
 * Infrastructure code lives in `infra/` and is imported inside `app()` and `run()`: SST
 * refuses top-level imports here.
 */
export default $config({
  async app(input) {
    const { providersFor } = await import('./infra/settings')
    const production = input?.stage === 'production'
    return {
      name: 'users-api',
      home: 'aws',
      providers: providersFor(process.env),
      // `protect`: `sst remove` refuses the production stage. `retain` keeps the stateful AWS
      // resources of a removed stage (SST's list: tables, buckets, RDS, VPCs); this app has
      // none, its data is in Neon, so for production it only guards what may be added later.
      removal: production ? 'retain' : 'remove',
      protect: production,
    }
  },
  async run() {
    const { checkRequiredSecrets, readCors, readDevDatabase, readEdgeSwitch, readTracingSwitch } = await import('./infra/settings')
    const { createDatabaseSecrets, createSharedSecrets } = await import('./infra/secrets')
    const { createDevDatabase } = await import('./infra/dev')
    const { createApi, createEdge } = await import('./infra/api')
    const edge = readEdgeSwitch(process.env)
    const cors = readCors(process.env)
    const observability = { service: $app.name, stage: $app.stage, tracing: readTracingSwitch(process.env) }
    if (!$dev) checkRequiredSecrets(process.env, $app.stage)
    const database = $dev ? createDevDatabase(readDevDatabase(process.env)) : createDatabaseSecrets()
    const links = { ...createSharedSecrets(), ...database }
    const api = createApi(links, cors, observability)
    // A Worker runs on Cloudflare in `sst dev` too, where this machine's database is out of reach.
    if (!edge || $dev) return { url: api.url }
    return { url: api.url, edge: createEdge(links, cors, observability).url }
  },
})
