/// <reference path="./.sst/platform/config.d.ts" />

/**
 * SST (v3 configuration syntax, `sst` 4.x on npm). Each route of `lib/manifest.ts` deploys
 * as its own Lambda function behind one API Gateway HTTP API. Infrastructure code lives in
 * `infra/` and is imported inside `run()`: SST refuses top-level imports here.
 */
export default $config({
  app(input) {
    const production = input?.stage === 'production'
    return {
      name: 'users-api',
      home: 'aws',
      // Production data and endpoints survive `sst remove` and cannot be deleted by mistake.
      removal: production ? 'retain' : 'remove',
      protect: production,
    }
  },
  async run() {
    const { createApi } = await import('./infra/api')
    const api = createApi()
    return { url: api.url }
  },
})
