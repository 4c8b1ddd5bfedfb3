/**
 * `sst.config.ts` cannot be deployed here (the SST CLI downloads Pulumi when it starts), so it
 * is loaded with recording stand-ins for `$config`, `$app`, `$dev` and the `sst.*` components
 * it uses, and what it declares is checked against the manifest and the code.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { DEFAULT_ENTRY, MANIFEST } from '../lib/manifest.ts'

interface RecordedSecret {
  readonly name: string
  readonly placeholder: string | undefined
}
interface RecordedRoute {
  readonly key: string
  readonly args: { handler: string; runtime: string; architecture: string; memory: string; timeout: string; link?: RecordedSecret[] }
}

const recorded = { secrets: [] as RecordedSecret[], apis: [] as { name: string; routes: RecordedRoute[] }[], workers: [] as { name: string; args: { handler: string; url: boolean; link: RecordedSecret[] } }[] }

class Secret implements RecordedSecret {
  readonly name: string
  readonly placeholder: string | undefined
  constructor(name: string, placeholder?: string) {
    this.name = name
    this.placeholder = placeholder
    recorded.secrets.push(this)
  }
}
class ApiGatewayV2 {
  readonly name: string
  readonly routes: RecordedRoute[] = []
  readonly url = 'https://api.example.invalid'
  constructor(name: string) {
    this.name = name
    recorded.apis.push(this)
  }
  route(key: string, args: RecordedRoute['args']) {
    this.routes.push({ key, args })
  }
}
class Worker {
  readonly url = 'https://edge.example.invalid'
  constructor(name: string, args: (typeof recorded.workers)[number]['args']) {
    recorded.workers.push({ name, args })
  }
}

interface SstConfig {
  app(input: { stage: string }): { name: string; home: string; removal: string; protect: boolean; providers?: Record<string, unknown> }
  run(): Promise<Record<string, unknown>>
}

const handlerFile = (handler: string) => handler.replace(/\.handler$/, '.ts')

describe('sst.config.ts, loaded with recording stand-ins', () => {
  let config: SstConfig
  let outputs: Record<string, unknown>
  const loaded: { shutdown(): Promise<void> }[] = []

  before(async () => {
    Object.assign(globalThis, {
      $config: (definition: SstConfig) => definition,
      $app: { name: 'users-api', stage: 'test' },
      $dev: false,
      sst: { Secret, aws: { ApiGatewayV2 }, cloudflare: { Worker } },
    })
    // Through a variable, so that the type checker does not follow it: sst.config.ts is typed by
    // .sst/platform, which only the SST CLI generates.
    const file = '../sst.config.ts'
    config = ((await import(file)) as { default: SstConfig }).default
    outputs = await config.run()
  })
  after(async () => {
    for (const fn of loaded) await fn.shutdown()
  })

  it('keeps production: retained and protected; other stages removable', () => {
    const production = config.app({ stage: 'production' })
    assert.deepEqual([production.name, production.home, production.removal, production.protect], ['users-api', 'aws', 'retain', true])
    const dev = config.app({ stage: 'alice' })
    assert.deepEqual([dev.removal, dev.protect], ['remove', false])
    assert.ok(production.providers && 'cloudflare' in production.providers, 'the Cloudflare provider, for the Worker')
  })

  it('wires every manifest route once, and $default, on one HTTP API', () => {
    assert.equal(recorded.apis.length, 1)
    const keys = recorded.apis[0]?.routes.map((route) => route.key) ?? []
    assert.deepEqual([...keys].sort(), [...MANIFEST.map((route) => `${route.method} ${route.path}`), '$default'].sort())
    assert.equal(new Set(keys).size, keys.length, 'no route twice')
    assert.deepEqual(outputs, { url: 'https://api.example.invalid', edge: 'https://edge.example.invalid' })
  })

  it('points each route at its manifest entry, a file that exports a Lambda handler', async () => {
    // A function starts its lifespans when loaded; none connects before a request.
    Object.assign(process.env, { DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none', JWT_SECRET: 'a-config-test-secret-of-32-characters' })
    for (const route of recorded.apis[0]?.routes ?? []) {
      const entry = route.key === '$default' ? DEFAULT_ENTRY : MANIFEST.find((item) => `${item.method} ${item.path}` === route.key)?.entry
      assert.equal(handlerFile(route.args.handler), entry, route.key)
      assert.ok(existsSync(handlerFile(route.args.handler)), `${route.args.handler}: no such file`)
      const module = (await import(`../${handlerFile(route.args.handler)}`)) as { handler: unknown; shutdown(): Promise<void> }
      assert.equal(typeof module.handler, 'function', `${route.args.handler} exports handler`)
      loaded.push(module)
    }
  })

  it('links each function to the secrets its manifest entry names, and no others', () => {
    for (const route of recorded.apis[0]?.routes ?? []) {
      const linked = (route.args.link ?? []).map((secret) => secret.name).sort()
      const expected = route.key === '$default' ? [] : [...(MANIFEST.find((item) => `${item.method} ${item.path}` === route.key)?.secrets ?? [])].sort()
      assert.deepEqual(linked, expected, route.key)
    }
  })

  it('runs every function on nodejs22.x, arm64, with the memory and timeout intended', () => {
    for (const route of recorded.apis[0]?.routes ?? []) {
      assert.equal(route.args.runtime, 'nodejs22.x', route.key)
      assert.equal(route.args.architecture, 'arm64', route.key)
      if (route.key === '$default') continue
      const entry = MANIFEST.find((item) => `${item.method} ${item.path}` === route.key)
      assert.equal(route.args.memory, `${entry && 'memoryMb' in entry ? entry.memoryMb : 512} MB`, route.key)
      assert.equal(route.args.timeout, '10 seconds', route.key)
    }
  })

  it('declares the secrets: database URL, JWT key and first admin required; replica and Redis optional', () => {
    const byName = new Map(recorded.secrets.map((secret) => [secret.name, secret.placeholder]))
    assert.deepEqual([...byName.keys()].sort(), ['AdminPassword', 'AdminUsername', 'DatabaseReplicaUrl', 'DatabaseUrl', 'JwtSecret', 'RedisUrl'])
    for (const required of ['DatabaseUrl', 'JwtSecret', 'AdminUsername', 'AdminPassword']) assert.equal(byName.get(required), undefined, `${required} has no placeholder`)
    assert.equal(byName.get('DatabaseReplicaUrl'), '')
    assert.equal(byName.get('RedisUrl'), '')
  })

  it('deploys the edge worker from its module, linked to what it reads', async () => {
    assert.equal(recorded.workers.length, 1)
    const worker = recorded.workers[0]
    assert.equal(worker?.args.handler, 'functions/edge/worker.ts')
    assert.equal(worker?.args.url, true)
    assert.deepEqual(worker?.args.link.map((secret) => secret.name).sort(), ['DatabaseReplicaUrl', 'DatabaseUrl', 'JwtSecret'])
    const module = (await import('../functions/edge/worker.ts')) as { default: { fetch: unknown } }
    assert.equal(typeof module.default.fetch, 'function')
  })
})
