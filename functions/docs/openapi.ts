import { lambdaFunction } from '../../lib/http/lambda.ts'
import { docs } from '../../lib/routes.ts'

export const { handler, shutdown, app } = await lambdaFunction(docs.openapi)
