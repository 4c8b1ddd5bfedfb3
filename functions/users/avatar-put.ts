import { lambdaFunction } from '../../lib/http/lambda.ts'
import { putAvatarRoute } from '../../lib/users/routes.ts'

export const { handler, shutdown, app } = await lambdaFunction(putAvatarRoute)
