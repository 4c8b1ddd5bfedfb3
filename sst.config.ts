/// <reference path="./.sst/platform/config.d.ts" />

/**
 * SST (v3 configuration syntax, `sst` 4.x on npm). Each route of `lib/manifest.ts` deploys
 * as its own Lambda function behind one API Gateway HTTP API, and all of them as one
 * Cloudflare Worker. Infrastructure code lives in `infra/` and is imported inside `run()`:
 * SST refuses top-level imports here.
 */
export default $config({
  app(input) {
    const production = input?.stage === 'production'
    return {
      name: 'users-api',
      home: 'aws',
      // The version `sst add cloudflare` writes (https://sst.dev/docs/cloudflare/).
      providers: { cloudflare: '5.37.1' },
      // Production data and endpoints survive `sst remove` and cannot be deleted by mistake.
      removal: production ? 'retain' : 'remove',
      protect: production,
    }
  },
  async run() {
    const { createApi, createEdge, createSecrets } = await import('./infra/api')
    const secrets = createSecrets()
    const api = createApi(secrets)
    const edge = createEdge(secrets)
    return { url: api.url, edge: edge.url }
  },
})
