import { lambdaFunction } from '../../lib/http/lambda.ts'
import { patchUser } from '../../lib/users/routes.ts'

export const { handler, shutdown, app } = await lambdaFunction(patchUser)
