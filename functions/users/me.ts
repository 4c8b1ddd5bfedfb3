import { lambdaFunction } from '../../lib/http/lambda.ts'
import { getMe } from '../../lib/users/routes.ts'

export const { handler, shutdown, app } = await lambdaFunction(getMe)
