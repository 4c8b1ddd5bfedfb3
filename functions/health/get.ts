import { health } from '../../lib/health/routes.ts'
import { createLambdaFunction } from '../../lib/http/lambda.ts'

const fn = await createLambdaFunction([health])

export const handler = fn.handler
export const shutdown = fn.shutdown
