/**
 * A Lambda instance frozen between invocations (SIGSTOP, as Lambda freezes it) while its
 * database connection dies, then thawed and used: the next request is answered fresh, without
 * waiting on the dead socket, and nothing fails or crashes. Two ways a connection dies during
 * a freeze: silently (a NAT or load balancer forgets it; the client is never told), and closed
 * by the server (the client finds the close waiting when it thaws).
 */
import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { after, before, describe, it } from 'node:test'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import type { DevDatabase } from '../../lib/dev/database.ts'
import type { FaultProxy } from '../../lib/dev/fault-proxy.ts'
import { httpApiEvent } from '../fixtures/lambda.ts'
import { seedUsers, startTestDatabase, TEST_JWT_SECRET } from '../support/database.ts'
import { behindFaultProxies, type FaultyPaths } from '../../lib/dev/faults.ts'
import { bearer } from '../support/auth.ts'

const IDLE_CHECK_MS = 300
const PING_TIMEOUT_MS = 1_000
const QUERY_TIMEOUT_MS = 8_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('an instance frozen past the idle threshold', () => {
  let database: DevDatabase
  let fault: FaultProxy
  let paths: FaultyPaths
  let child: ChildProcess
  let output = ''
  let id = 0
  let headers: Record<string, string> = {}
  let sequence = 0
  const pending = new Map<number, { resolve(result: APIGatewayProxyStructuredResultV2): void; reject(error: Error): void }>()

  before(async () => {
    database = await startTestDatabase()
    paths = await behindFaultProxies(database)
    ;[fault] = paths.proxies as [FaultProxy]
    ;[id] = (await seedUsers(database.url, ['frozen'])) as [number]
    headers = await bearer(id)
    child = fork(new URL('../fixtures/instance.ts', import.meta.url), {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        JWT_SECRET: TEST_JWT_SECRET,
        PATH: process.env.PATH,
        DATABASE_URL: paths.urlThrough(fault),
        DATABASE_WS_PROXY: paths.ws.address,
        DATABASE_IDLE_CHECK_MS: String(IDLE_CHECK_MS),
        DATABASE_PING_TIMEOUT_MS: String(PING_TIMEOUT_MS),
        DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
        // This is about the dead socket, not the stale budget: on a loaded machine the ping's
        // timeout and a new connection may together take longer than the deployed 1 s.
        STALE_AFTER_MS: '5000',
      },
    })
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('message', (message: { ready?: boolean; id?: number; result?: APIGatewayProxyStructuredResultV2; error?: string }) => {
      if (message.id === undefined) return
      if (message.error !== undefined) throw new Error(`the handler threw: ${message.error}`)
      pending.get(message.id)?.resolve(message.result as APIGatewayProxyStructuredResultV2)
      pending.delete(message.id)
    })
    // An instance that crashes fails the request it was running, with what it printed.
    child.on('exit', (code, signal) => {
      for (const { reject } of pending.values()) reject(new Error(`the instance exited (${code ?? signal}):\n${output}`))
      pending.clear()
    })
    const [ready] = (await once(child, 'message')) as [{ ready?: boolean }]
    assert.equal(ready.ready, true, output)
  })
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGCONT')
      child.disconnect()
      await once(child, 'exit')
    }
    await paths?.close()
    await database?.close()
  })

  function read(): Promise<{ result: APIGatewayProxyStructuredResultV2; took: number }> {
    const event: APIGatewayProxyEventV2 = httpApiEvent({ method: 'GET', route: '/users/{id}', path: `/users/${id}`, headers })
    const started = Date.now()
    return new Promise((resolve, reject) => {
      const key = ++sequence
      pending.set(key, { resolve: (result) => resolve({ result, took: Date.now() - started }), reject })
      child.send({ id: key, event })
    })
  }

  async function frozenWhile(kill: () => void): Promise<void> {
    assert.ok(child.kill('SIGSTOP'))
    try {
      kill()
      await sleep(IDLE_CHECK_MS * 3)
    } finally {
      child.kill('SIGCONT')
    }
  }

  it('answers fresh after its connection died silently during the freeze', async () => {
    const first = await read()
    assert.equal(first.result.statusCode, 200, first.result.body)

    await frozenWhile(() => assert.ok(fault.sever() >= 1, 'the instance held a connection'))

    const after = await read()
    assert.equal(after.result.statusCode, 200, after.result.body)
    assert.equal(after.result.body, first.result.body)
    assert.equal(after.result.headers?.age, undefined, 'a fresh answer, not a stale one')
    // The ping's own timeout found the dead socket; the statement timeout never came into it.
    assert.ok(after.took < QUERY_TIMEOUT_MS, `answered in ${after.took} ms\n${output}`)
    assert.match(output, /"database retry"/)
  })

  it('answers fresh after the server closed its connection during the freeze', async () => {
    const first = await read()
    assert.equal(first.result.statusCode, 200)

    // Every connection ended from the database's side; the close waits for the thaw.
    await frozenWhile(() => {
      fault.setMode('refuse')
      fault.setMode('forward')
    })

    const after = await read()
    assert.equal(after.result.statusCode, 200, after.result.body)
    assert.equal(after.result.headers?.age, undefined)
    assert.equal(child.exitCode, null, 'the instance is still running')
    assert.doesNotMatch(output, /"level":"error"/)
  })
})
