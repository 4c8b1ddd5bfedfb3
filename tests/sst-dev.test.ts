/**
 * `sst dev` end to end, less the AWS half: sst.config.ts run as `sst dev` runs it (recording
 * stand-ins, $dev: true), then the DevCommand it declares is started as SST's multiplexer
 * starts one (its command split into words and run with no shell, in a session of its own,
 * with the shell's environment plus its own; stopped by SIGTERM to that process, then the
 * hang-up of its terminal), and functions are invoked in processes
 * that hold only the SST_RESOURCE_* values their links give them. They reach the local
 * database and sign in with nothing set by hand.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { externalUrl, uniqueName } from './support/database.ts'
import { ROOT } from './support/cli.ts'
import { httpApiEvent, type EventOptions } from './fixtures/lambda.ts'
import { linkedEnv, loadSstConfig, runConfig, type Recorded } from './support/sst.ts'

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

function listening(address: string): Promise<boolean> {
  const [host, port] = address.split(':') as [string, string]
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

interface Result {
  readonly statusCode: number
  readonly body: string
}

describe('sst dev: the DevCommand database and the functions linked to it', () => {
  let recorded: Recorded
  let devCommand: ChildProcess
  let output = ''
  // With DATABASE_URL (CI's PostgreSQL pass) the dev command proxies to that server, which has
  // no default admin: the admin is then configured as a user of that setup would.
  const admin = externalUrl ? { username: uniqueName('sstdev'), password: 'sst-dev-test-password' } : { username: 'admin', password: 'admin-dev-password' }

  before(async () => {
    const config = await loadSstConfig()
    const ports = { PGLITE_PORT: String(await freePort()), WS_PROXY_PORT: String(await freePort()) }
    ;({ recorded } = await runConfig(config, { dev: true, shell: { ...ports, ...(externalUrl ? { DATABASE_URL: externalUrl } : {}) } }))
    const command = recorded.devCommands[0]
    assert.ok(command, 'a DevCommand')
    const [program, ...args] = command.args.dev.command.split(' ') as [string, ...string[]]
    devCommand = spawn(program, args, {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...command.args.environment,
        // The test's own: a throw-away embedded database, not .data/pglite.
        PGLITE_DATA_DIR: 'memory://',
        // From the shell, as a user with a PostgreSQL server sets them for sst dev.
        ...(externalUrl ? { DATABASE_URL: externalUrl, ADMIN_USERNAME: admin.username, ADMIN_PASSWORD: admin.password } : {}),
      },
    })
    devCommand.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    devCommand.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const deadline = Date.now() + 60_000
    while (!output.includes('ready in')) {
      assert.equal(devCommand.exitCode, null, `the dev command exited:\n${output}`)
      assert.ok(Date.now() < deadline, `not ready in 60 s:\n${output}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })

  after(async () => {
    if (devCommand?.pid !== undefined && devCommand.exitCode === null && devCommand.signalCode === null) {
      const exited = once(devCommand, 'close')
      devCommand.kill('SIGTERM')
      await exited
    }
  })

  function call(options: EventOptions): Result {
    const route = recorded.apis[0]?.routes.find((item) => item.key === `${options.method} ${options.route}`)
    assert.ok(route, `${options.method} ${options.route} is wired`)
    const entry = route.args.handler.replace(/\.handler$/, '.ts')
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'tests/fixtures/linked-call.ts', entry, JSON.stringify(httpApiEvent(options))], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', ...linkedEnv(route.args.link ?? []) },
    })
    const line = child.stdout.split('\n').find((text) => text.startsWith('RESULT '))
    assert.ok(line, `no result (exit ${child.status}):\n${child.stdout}\n${child.stderr}`)
    return JSON.parse(line.slice('RESULT '.length)) as Result
  }

  it('starts the database the functions are linked to, on the linked ports', () => {
    const proxy = recorded.linkables.find((linkable) => linkable.name === 'DatabaseWsProxy')?.properties().value
    assert.ok(output.includes(`proxy     Neon WebSocket proxy on ${String(proxy)} `), output)
    assert.match(output, /migrate {3}(applied|up to date)/)
    assert.match(output, new RegExp(`admin {5}super_admin "${admin.username}" (created|exists)`))
  })

  it('answers GET /health from a function that knows only its links', () => {
    const result = call({ method: 'GET', route: '/health', path: '/health' })
    assert.equal(result.statusCode, 200, result.body)
    assert.deepEqual(JSON.parse(result.body), { status: 'ok' })
  })

  it('signs the first super_admin in, and the token opens GET /users/me: the generated key links to both', () => {
    const body = new URLSearchParams({ username: admin.username, password: admin.password }).toString()
    const token = call({ method: 'POST', route: '/auth/token', path: '/auth/token', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    assert.equal(token.statusCode, 200, token.body)
    const { access_token: accessToken } = JSON.parse(token.body) as { access_token: string }
    const me = call({ method: 'GET', route: '/users/me', path: '/users/me', headers: { authorization: `Bearer ${accessToken}` } })
    assert.equal(me.statusCode, 200, me.body)
    assert.equal((JSON.parse(me.body) as { username: string }).username, admin.username)
  })

  it('stops on SIGTERM as SST stops its dev commands, closing what it started', async () => {
    assert.ok(devCommand.pid)
    // As SST's pane closes: SIGTERM to its process, then the terminal's hang-up to the session.
    // 'close' comes when every process that holds the command's output is gone.
    const closed = once(devCommand, 'close')
    devCommand.kill('SIGTERM')
    process.kill(-devCommand.pid, 'SIGHUP')
    await closed
    // Whichever comes first starts the stop; the other waits for it rather than forcing an exit.
    assert.match(output, /(SIGTERM|SIGHUP): stopping\n(.*\n)*stopped\n/)
    assert.doesNotMatch(output, /forced exit/)
    for (const port of ['PGLITE_PORT', 'WS_PROXY_PORT'] as const) {
      const address = `127.0.0.1:${recorded.devCommands[0]?.args.environment?.[port]}`
      assert.equal(await listening(address), false, `${port}: ${address} still open`)
    }
  })
})
