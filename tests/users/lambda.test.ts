// The users API contract through the Lambda handlers: one function per manifest route,
// payload-2.0 events, the $default function for everything else.
import { createUser } from '../support/auth.ts'
import { functionEnv, startTestDatabase } from '../support/database.ts'
import { startGateway } from '../support/gateway.ts'
import { usersContract } from './contract.ts'

usersContract('through the Lambda handlers', async () => {
  const database = await startTestDatabase()
  const admin = await createUser(database.url, { prefix: 'root', role: 'super_admin' })
  const gateway = await startGateway(functionEnv(database))
  return {
    call: gateway.call,
    admin,
    async close() {
      await gateway.close()
      await database.close()
    },
  }
})
