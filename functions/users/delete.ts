import { lambdaFunction } from '../../lib/http/lambda.ts'
import { deleteUserRoute } from '../../lib/users/routes.ts'

export const { handler, shutdown, app } = await lambdaFunction(deleteUserRoute)
