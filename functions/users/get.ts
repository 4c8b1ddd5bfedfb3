import { lambdaFunction } from '../../lib/http/lambda.ts'
import { getUser } from '../../lib/users/routes.ts'

export const { handler, shutdown, app } = await lambdaFunction(getUser)
