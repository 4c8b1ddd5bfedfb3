import { health } from '../../lib/health/routes.ts'
import { lambdaFunction } from '../../lib/http/lambda.ts'

export const { handler, shutdown, app } = await lambdaFunction(health)
