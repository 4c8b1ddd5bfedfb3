/**
 * `sst.config.ts` cannot be deployed here, so it is loaded with recording stand-ins
 * (tests/support/sst.ts) as `sst deploy` ($dev: false) and `sst dev` ($dev: true) would run it,
 * with the Worker switched off and on, and what it declares is checked against the manifest
 * and the code. `npm run typecheck:sst` checks the same files against SST's own types.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { inspect } from 'node:util'
import { DEFAULT_ENTRY, MANIFEST } from '../lib/manifest.ts'
import { DEV_DATABASE_PORTS, PROVIDERS } from '../infra/settings.ts'
import { apiGatewayCors, readCorsPolicy } from '../lib/http/cors-policy.ts'
import { appOf, loadSstConfig, runConfig, StandInOutput, StandInSecret, type Recorded, type Shell, type SstConfig } from './support/sst.ts'

/** What `sst secret set` gave a stage that has its required secrets. */
const STAGE_SECRETS: Shell = { SST_SECRET_DatabaseUrl: 'postgres://app:pw@ep-cool-sun-123456.eu-central-1.aws.neon.tech/app', SST_SECRET_AdminPassword: 'a long password' }

/** How SST's CLI will print an error from run(): its message alone when it reads `VisibleError: …`. */
function shownAs(message: string) {
  return (error: unknown) => {
    assert.ok(error instanceof Error)
    assert.equal(inspect(error).split('\n')[0], `VisibleError: ${message}`)
    return true
  }
}

const handlerFile = (handler: string) => handler.replace(/\.handler$/, '.ts')
const entryOf = (key: string) => (key === '$default' ? undefined : MANIFEST.find((item) => `${item.method} ${item.path}` === key))
const namesOf = (links: readonly { name: string }[] | undefined) => (links ?? []).map((link) => link.name).sort()
const secretNames = (recorded: Recorded) => recorded.secrets.map((secret) => secret.name).sort()
const routesOf = (recorded: Recorded) => recorded.apis[0]?.routes ?? []

let config: SstConfig
before(async () => {
  config = await loadSstConfig()
})

describe('sst.config.ts app(): stages and providers', () => {
  it('keeps production: retained and protected; other stages removable', async () => {
    const production = await appOf(config, 'production')
    assert.deepEqual([production.name, production.home, production.removal, production.protect], ['users-api', 'aws', 'retain', true])
    const personal = await appOf(config, 'alice')
    assert.deepEqual([personal.removal, personal.protect], ['remove', false])
  })

  it('needs no Cloudflare provider unless the Worker is switched on, and pins what it declares', async () => {
    const off = await appOf(config, 'alice')
    assert.deepEqual(off.providers, { aws: PROVIDERS.aws, random: PROVIDERS.random })
    const on = await appOf(config, 'alice', { EDGE_WORKER: '1' })
    assert.deepEqual(on.providers, { aws: PROVIDERS.aws, random: PROVIDERS.random, cloudflare: PROVIDERS.cloudflare })
    for (const version of Object.values(PROVIDERS)) assert.match(version, /^\d+\.\d+\.\d+$/, 'an exact version')
  })

  it('refuses a malformed switch in run(), with one line naming it (app() may not throw: SST hides its errors)', async () => {
    const app = await appOf(config, 'alice', { EDGE_WORKER: 'maybe' })
    assert.equal('cloudflare' in app.providers, false)
    await assert.rejects(runConfig(config, { dev: false, shell: { ...STAGE_SECRETS, EDGE_WORKER: 'maybe' } }), shownAs('EDGE_WORKER: must be 1 (deploy the Cloudflare Worker) or 0 (do not)'))
  })
})

describe('sst.config.ts run() as sst deploy ($dev: false)', () => {
  let recorded: Recorded
  let outputs: Record<string, unknown>
  const loaded: { shutdown(): Promise<void> }[] = []
  before(async () => {
    ;({ recorded, outputs } = await runConfig(config, { dev: false, shell: STAGE_SECRETS }))
  })
  after(async () => {
    for (const fn of loaded) await fn.shutdown()
  })

  it('wires every manifest route once, and $default, on one HTTP API, and no Worker', () => {
    assert.equal(recorded.apis.length, 1)
    const keys = routesOf(recorded).map((route) => route.key)
    assert.deepEqual([...keys].sort(), [...MANIFEST.map((route) => `${route.method} ${route.path}`), '$default'].sort())
    assert.equal(new Set(keys).size, keys.length, 'no route twice')
    assert.equal(recorded.workers.length, 0)
    assert.deepEqual(outputs, { url: 'https://api.example.invalid' })
  })

  it('points each route at its manifest entry, a file that exports a Lambda handler', async () => {
    // A function starts its lifespans when loaded; none connects before a request.
    Object.assign(process.env, { DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none', JWT_SECRET: 'a-config-test-secret-of-32-characters' })
    for (const route of routesOf(recorded)) {
      const entry = route.key === '$default' ? DEFAULT_ENTRY : entryOf(route.key)?.entry
      assert.equal(handlerFile(route.args.handler), entry, route.key)
      assert.ok(existsSync(handlerFile(route.args.handler)), `${route.args.handler}: no such file`)
      const module = (await import(`../${handlerFile(route.args.handler)}`)) as { handler: unknown; shutdown(): Promise<void> }
      assert.equal(typeof module.handler, 'function', `${route.args.handler} exports handler`)
      loaded.push(module)
    }
  })

  it('links each function to the secrets its manifest entry names, and no others', () => {
    for (const route of routesOf(recorded)) {
      assert.deepEqual(namesOf(route.args.link), [...(entryOf(route.key)?.secrets ?? [])].sort(), route.key)
      for (const link of route.args.link ?? []) assert.ok(link instanceof StandInSecret, `${route.key}: ${link.name} is a secret`)
    }
  })

  it('copies Swagger UI\'s files into the docs files\' function only, from files that exist', () => {
    const copying = routesOf(recorded).filter((route) => route.args.copyFiles !== undefined)
    assert.deepEqual(copying.map((route) => route.key), ['GET /docs/{file}'])
    const copied = copying[0]?.args.copyFiles ?? []
    assert.deepEqual(copied.map((file) => file.to).sort(), ['swagger-ui/favicon-32x32.png', 'swagger-ui/swagger-ui-bundle.js', 'swagger-ui/swagger-ui.css'])
    for (const file of copied) assert.ok(existsSync(file.from), `${file.from}: no such file (paths are from sst.config.ts)`)
  })

  it('runs every function on nodejs22.x, arm64, with the memory and timeout intended', () => {
    for (const route of routesOf(recorded)) {
      assert.equal(route.args.runtime, 'nodejs22.x', route.key)
      assert.equal(route.args.architecture, 'arm64', route.key)
      if (route.key === '$default') continue
      const entry = entryOf(route.key)
      assert.equal(route.args.memory, `${entry && 'memoryMb' in entry ? entry.memoryMb : 512} MB`, route.key)
      assert.equal(route.args.timeout, '10 seconds', route.key)
    }
  })

  it('asks only for what cannot be made: the database URL and the admin password; the token key is generated per stage', () => {
    const byName = new Map(recorded.secrets.map((secret) => [secret.name, secret]))
    assert.deepEqual(secretNames(recorded), ['AdminPassword', 'AdminUsername', 'DatabaseReplicaUrl', 'DatabaseUrl', 'JwtSecret', 'RedisUrl'])
    for (const required of ['DatabaseUrl', 'AdminPassword']) assert.equal(byName.get(required)?.placeholder, undefined, `${required} has no placeholder`)
    assert.equal(byName.get('DatabaseUrl')?.properties().value, STAGE_SECRETS.SST_SECRET_DatabaseUrl)
    assert.equal(byName.get('AdminUsername')?.placeholder, 'admin')
    assert.equal(byName.get('DatabaseReplicaUrl')?.placeholder, '')
    assert.equal(byName.get('RedisUrl')?.placeholder, '')
    // The token key: a random value kept in the stage's state, secret, long enough for HS256 (lib/config.ts: 32+).
    assert.equal(recorded.passwords.length, 1)
    const generated = recorded.passwords[0]
    assert.ok(generated && generated.args.length >= 32, 'at least 32 characters')
    assert.ok(generated?.result instanceof StandInOutput && generated.result.secret)
    assert.equal(byName.get('JwtSecret')?.placeholder, generated?.result)
    assert.equal(byName.get('JwtSecret')?.properties().value, generated?.result.value)
    assert.equal(recorded.devCommands.length, 0, 'no dev command outside dev mode')
    assert.equal(recorded.linkables.length, 0, 'no local database outside dev mode')
  })

  it('stops a stage without its required secrets in one line naming each command, with the stage', async () => {
    await assert.rejects(
      runConfig(config, { dev: false }),
      shownAs(
        `stage "test" needs DatabaseUrl and AdminPassword: npx sst secret set DatabaseUrl 'postgres://user:password@ep-….neon.tech/db?sslmode=require' --stage test && npx sst secret set AdminPassword 'a long password' --stage test`,
      ),
    )
    await assert.rejects(runConfig(config, { dev: false, shell: { SST_SECRET_DatabaseUrl: 'postgres://u@ep-x.neon.tech/db' } }), shownAs(`stage "test" needs AdminPassword: npx sst secret set AdminPassword 'a long password' --stage test`))
  })

  it('takes a token key set with sst secret set in place of the generated one', async () => {
    const { recorded: withKey } = await runConfig(config, { dev: false, shell: { ...STAGE_SECRETS, SST_SECRET_JwtSecret: 'a-key-of-the-owners-own-choosing-0123456789' } })
    const key = withKey.secrets.find((secret) => secret.name === 'JwtSecret')
    assert.equal(key?.properties().value, 'a-key-of-the-owners-own-choosing-0123456789')
  })
})

describe('sst.config.ts run() with the Worker switched on (EDGE_WORKER=1)', () => {
  it('deploys the edge worker from its module, linked to what it reads', async () => {
    const { recorded, outputs } = await runConfig(config, { dev: false, shell: { ...STAGE_SECRETS, EDGE_WORKER: '1' } })
    assert.equal(recorded.workers.length, 1)
    const worker = recorded.workers[0]
    assert.equal(worker?.args.handler, 'functions/_edge.ts')
    assert.equal(worker?.args.url, true)
    assert.deepEqual(namesOf(worker?.args.link), ['DatabaseReplicaUrl', 'DatabaseUrl', 'JwtSecret'])
    assert.deepEqual(outputs, { url: 'https://api.example.invalid', edge: 'https://edge.example.invalid' })
    const module = (await import('../functions/_edge.ts')) as { default: { fetch: unknown } }
    assert.equal(typeof module.default.fetch, 'function')
  })
})

describe('sst.config.ts run(): logs, metrics and traces', () => {
  it('tells every function and the Worker the service and the stage (metric dimensions); no tracing unless XRAY_TRACING=1', async () => {
    const { recorded } = await runConfig(config, { dev: false, shell: { ...STAGE_SECRETS, EDGE_WORKER: '1' } })
    for (const route of routesOf(recorded)) {
      assert.deepEqual([route.args.environment?.POWERTOOLS_SERVICE_NAME, route.args.environment?.STAGE], ['users-api', 'test'], route.key)
      assert.deepEqual([route.args.transform, route.args.permissions], [undefined, undefined], route.key)
    }
    assert.equal(recorded.workers[0]?.args.environment?.STAGE, 'test')
  })

  it('turns on Lambda\'s active tracing, with the right to send to X-Ray, on every function with XRAY_TRACING=1; a bad value names the variable', async () => {
    const { recorded } = await runConfig(config, { dev: false, shell: { ...STAGE_SECRETS, XRAY_TRACING: '1' } })
    assert.ok(routesOf(recorded).length > 10)
    for (const route of routesOf(recorded)) {
      assert.deepEqual(route.args.transform?.function?.tracingConfig, { mode: 'Active' }, route.key)
      assert.deepEqual(route.args.permissions, [{ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }], route.key)
    }
    await assert.rejects(runConfig(config, { dev: false, shell: { ...STAGE_SECRETS, XRAY_TRACING: 'maybe' } }), { message: /^XRAY_TRACING: must be 1/ })
  })
})

describe('sst.config.ts run(): one CORS policy (CORS_ORIGINS) for API Gateway, the functions and the Worker', () => {
  const ORIGINS = 'https://app.example.com, http://localhost:5173'

  it('turns API Gateway\'s CORS off by default (SST\'s own default allows every origin), and tells no function of any', async () => {
    const { recorded } = await runConfig(config, { dev: false, shell: { ...STAGE_SECRETS, EDGE_WORKER: '1' } })
    assert.equal(recorded.apis[0]?.args.cors, false)
    const told = { POWERTOOLS_SERVICE_NAME: 'users-api', STAGE: 'test' }
    for (const route of routesOf(recorded)) assert.deepEqual(route.args.environment, told, route.key)
    assert.deepEqual(recorded.workers[0]?.args.environment, told)
  })

  it('gives API Gateway the policy the functions apply, and each function and the Worker its CORS_ORIGINS', async () => {
    const { recorded } = await runConfig(config, { dev: false, shell: { ...STAGE_SECRETS, EDGE_WORKER: '1', CORS_ORIGINS: ORIGINS } })
    const cors = recorded.apis[0]?.args.cors
    assert.deepEqual(cors, apiGatewayCors(readCorsPolicy({ CORS_ORIGINS: ORIGINS })))
    // SST fills what is left out with "*" (every origin, method and header): all are given.
    assert.deepEqual(cors, {
      allowOrigins: ['https://app.example.com', 'http://localhost:5173'],
      allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowHeaders: ['authorization', 'content-type', 'x-request-id'],
      exposeHeaders: ['x-request-id', 'retry-after', 'age', 'cache-status', 'location', 'www-authenticate', 'allow'],
      maxAge: '600 seconds',
      allowCredentials: false,
    })
    const environment = { CORS_ORIGINS: 'https://app.example.com,http://localhost:5173', POWERTOOLS_SERVICE_NAME: 'users-api', STAGE: 'test' }
    for (const route of routesOf(recorded)) assert.deepEqual(route.args.environment, environment, route.key)
    assert.deepEqual(recorded.workers[0]?.args.environment, environment)
    // What a function is told reads back as the same policy.
    assert.deepEqual(readCorsPolicy(environment), readCorsPolicy({ CORS_ORIGINS: ORIGINS }))
  })

  it('applies it in sst dev too, whose API Gateway is deployed', async () => {
    const { recorded } = await runConfig(config, { dev: true, shell: { CORS_ORIGINS: ORIGINS } })
    assert.deepEqual(recorded.apis[0]?.args.cors, apiGatewayCors(readCorsPolicy({ CORS_ORIGINS: ORIGINS })))
  })

  it('stops a deploy whose CORS_ORIGINS is not a list of origins, with one line naming it', async () => {
    await assert.rejects(runConfig(config, { dev: false, shell: { ...STAGE_SECRETS, CORS_ORIGINS: '*, https://app.example.com' } }), shownAs('CORS_ORIGINS: * (every origin) cannot be listed with other origins'))
    await assert.rejects(runConfig(config, { dev: false, shell: { ...STAGE_SECRETS, CORS_ORIGINS: 'https://app.example.com/app' } }), (error: unknown) => {
      assert.ok(error instanceof Error)
      assert.match(inspect(error).split('\n')[0] ?? '', /^VisibleError: CORS_ORIGINS: must be origins separated by commas/)
      return true
    })
  })
})

describe('sst.config.ts run() as sst dev ($dev: true)', () => {
  it('starts the local database with a DevCommand and links every function that reads DatabaseUrl to it', async () => {
    const { recorded } = await runConfig(config, { dev: true })
    assert.equal(recorded.devCommands.length, 1)
    const command = recorded.devCommands[0]
    assert.equal(command?.args.dev.command, 'node --import tsx lib/dev/db.ts')
    assert.equal(JSON.parse(readFileSync('package.json', 'utf8')).scripts['dev:db'], 'tsx lib/dev/db.ts', 'the program of npm run dev:db')
    assert.notEqual(command?.args.dev.autostart, false, 'starts with sst dev')
    assert.deepEqual(command?.args.environment, { PGLITE_PORT: String(DEV_DATABASE_PORTS.postgres), WS_PROXY_PORT: String(DEV_DATABASE_PORTS.wsProxy) })

    const local = new Map(recorded.linkables.map((linkable) => [linkable.name, linkable.properties()]))
    assert.deepEqual(Object.fromEntries(local), {
      DatabaseUrl: { value: `postgres://postgres@127.0.0.1:${DEV_DATABASE_PORTS.postgres}/postgres` },
      DatabaseWsProxy: { value: `127.0.0.1:${DEV_DATABASE_PORTS.wsProxy}` },
    })
    const url = recorded.linkables.find((linkable) => linkable.name === 'DatabaseUrl')?.definition.properties.value
    assert.ok(url instanceof StandInOutput && url.secret, 'the URL is kept as a secret in the stage state')
    // No secret to set by hand: the database ones are not declared, the rest have values.
    assert.deepEqual(secretNames(recorded), ['DatabaseReplicaUrl', 'JwtSecret', 'RedisUrl'])
    for (const secret of recorded.secrets) assert.equal(typeof secret.properties().value, 'string', secret.name)

    for (const route of routesOf(recorded)) {
      const secrets = [...(entryOf(route.key)?.secrets ?? [])]
      const expected = secrets.includes('DatabaseUrl') ? [...secrets, 'DatabaseWsProxy'] : secrets
      assert.deepEqual(namesOf(route.args.link), expected.sort(), route.key)
      const database = route.args.link?.find((link) => link.name === 'DatabaseUrl')
      if (database) assert.ok(recorded.linkables.includes(database as never), `${route.key} reads the local database, not a secret`)
    }
  })

  it('leaves the Worker out even when it is switched on: it would run on Cloudflare, far from this database', async () => {
    const { recorded, outputs } = await runConfig(config, { dev: true, shell: { EDGE_WORKER: 'true' } })
    assert.equal(recorded.workers.length, 0)
    assert.deepEqual(outputs, { url: 'https://api.example.invalid' })
  })

  it("uses the shell's DATABASE_URL and ports when set; a Neon URL goes without the local proxy", async () => {
    const server = 'postgres://app:pw@127.0.0.1:5432/app'
    const { recorded } = await runConfig(config, { dev: true, shell: { DATABASE_URL: server, PGLITE_PORT: '6001', WS_PROXY_PORT: '6002' } })
    // DATABASE_URL reaches the command from the shell, which SST passes on; not through the state.
    assert.deepEqual(recorded.devCommands[0]?.args.environment, { PGLITE_PORT: '6001', WS_PROXY_PORT: '6002' })
    assert.deepEqual(
      recorded.linkables.map((linkable) => [linkable.name, linkable.properties()]),
      [
        ['DatabaseUrl', { value: server }],
        ['DatabaseWsProxy', { value: '127.0.0.1:6002' }],
      ],
    )
    const neon = 'postgres://app:pw@ep-cool-sun-123456.eu-central-1.aws.neon.tech/app?sslmode=require'
    const withNeon = await runConfig(config, { dev: true, shell: { DATABASE_URL: neon } })
    assert.deepEqual(withNeon.recorded.linkables.map((linkable) => linkable.name), ['DatabaseUrl'])
  })

  it('refuses malformed dev settings with one line naming the variable, never echoing it', async () => {
    await assert.rejects(runConfig(config, { dev: true, shell: { PGLITE_PORT: '99999' } }), shownAs('PGLITE_PORT: must be a port number from 1 to 65535'))
    await assert.rejects(runConfig(config, { dev: true, shell: { WS_PROXY_PORT: 'x' } }), shownAs('WS_PROXY_PORT: must be a port number from 1 to 65535'))
    await assert.rejects(runConfig(config, { dev: true, shell: { DATABASE_URL: 'mysql://secret@db/x' } }), shownAs('DATABASE_URL: must be a postgres:// or postgresql:// URL with a host'))
    // A deploy does not read them.
    await runConfig(config, { dev: false, shell: { ...STAGE_SECRETS, PGLITE_PORT: '99999', DATABASE_URL: 'mysql://secret@db/x' } })
  })
})
