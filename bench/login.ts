/**
 * Does the time of a refused login tell an unknown username from a known one with a wrong
 * password? POST /auth/token through its Lambda handler, the three cases interleaved one by
 * one: unknown user, wrong password, right password. Prints each case's median time and the
 * ratio unknown / wrong password (1.00x: the time tells nothing).
 *
 *   npm run bench:login [-- --rounds 40]
 */
import { openSync, writeSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { lambdaFunction } from '../lib/http/lambda.ts'
import { setLogSink } from '../lib/log.ts'
import { login } from '../tests/support/routes.ts'
import { httpApiEvent, lambdaContext } from '../tests/fixtures/lambda.ts'
import { createUser } from '../tests/support/auth.ts'
import { functionEnv, startTestDatabase, uniqueName } from '../tests/support/database.ts'
import { median, quartiles } from './stats.ts'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '40' } } })
const rounds = Number(values.rounds)
const devNull = openSync('/dev/null', 'w')
setLogSink((_level, line) => writeSync(devNull, `${line}\n`))

const database = await startTestDatabase()
const user = await createUser(database.url, { prefix: 'timing' })
const fn = await lambdaFunction(login, { env: functionEnv(database) })
let clients = 0
// Each sign-in from a client of its own: one address's failures would reach its throttle limit.
const form = (username: string, password: string) =>
  httpApiEvent({
    method: 'POST',
    route: '/auth/token',
    path: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
    sourceIp: `2001:db8:${(++clients).toString(16)}::1`,
  })
const cases = {
  'unknown user': { event: () => form(uniqueName('nobody'), 'some password'), status: 401 },
  'wrong password': { event: () => form(user.username, 'not the password'), status: 401 },
  'right password': { event: () => form(user.username, user.password), status: 200 },
}
type Case = keyof typeof cases
const times: Record<Case, number[]> = { 'unknown user': [], 'wrong password': [], 'right password': [] }
const names = Object.keys(cases) as Case[]
for (let r = -2; r < rounds; r++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(r + 3 + k) % names.length] as Case
    const start = performance.now()
    const result = await fn.handler(cases[name].event(), lambdaContext())
    const took = performance.now() - start
    if (result.statusCode !== cases[name].status) throw new Error(`${name}: ${result.statusCode} ${result.body}`)
    if (r >= 0) times[name].push(took) // the first two rounds warm up
  }
}
console.log(`POST /auth/token, ${rounds} rounds, the cases interleaved (Node ${process.version})`)
for (const name of names) console.log(`  ${name.padEnd(16)} ${median(times[name]).toFixed(1).padStart(7)} ms (median; min ${Math.min(...times[name]).toFixed(1)})`)
const ratios = times['unknown user'].map((t, i) => t / (times['wrong password'][i] as number)).sort((a, b) => a - b)
console.log(`  unknown / wrong password: ${median(ratios).toFixed(3)}x (quartiles ${quartiles(ratios, 3)})`)
await fn.shutdown()
await database.close()
