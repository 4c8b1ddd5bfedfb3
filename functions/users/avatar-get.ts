import { lambdaFunction } from '../../lib/http/lambda.ts'
import { getAvatar } from '../../lib/users/routes.ts'

export const { handler, shutdown, app } = await lambdaFunction(getAvatar)
