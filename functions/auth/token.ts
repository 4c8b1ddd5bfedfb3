import { lambdaFunction } from '../../lib/http/lambda.ts'
import { login } from '../../lib/users/routes.ts'

export const { handler, shutdown, app } = await lambdaFunction(login)
