import { createLambdaFunction } from '../../lib/http/lambda.ts'
import { getUser } from '../../lib/users/routes.ts'

const fn = await createLambdaFunction([getUser])

export const handler = fn.handler
export const shutdown = fn.shutdown
