import { lambdaFunction } from '../../lib/http/lambda.ts'
import { createUser } from '../../lib/users/routes.ts'

export const { handler, shutdown, app } = await lambdaFunction(createUser)
