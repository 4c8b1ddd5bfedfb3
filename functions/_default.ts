// API Gateway's `$default` route: every request no other route takes. It answers as the
// dev server does: 405 with `Allow` for a known path, 404 otherwise.
import { lambdaFunction } from '../lib/http/lambda.ts'
import { MANIFEST } from '../lib/manifest.ts'

export const { handler, shutdown, app } = await lambdaFunction([], { knownRoutes: MANIFEST })
