import { lambdaFunction } from '../../lib/http/lambda.ts'
import { listUsersRoute } from '../../lib/users/routes.ts'

export const { handler, shutdown, app } = await lambdaFunction(listUsersRoute)
