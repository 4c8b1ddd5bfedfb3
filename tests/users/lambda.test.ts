// The users API contract through the Lambda handlers: one function per manifest route,
// payload-2.0 events, the $default function for everything else.
import { startTestDatabase } from '../support/database.ts'
import { lambdaTarget } from '../support/targets.ts'
import { usersContract } from './contract.ts'

usersContract('through the Lambda handlers', async () => lambdaTarget(await startTestDatabase()))
