import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError, DEV_ADMIN, readDevConfig, readFunctionConfig, readThrottleConfig, type Env } from '../lib/config.ts'
import { readCorsPolicy } from '../lib/http/cors-policy.ts'

function configError(read: () => unknown): ConfigError {
  try {
    read()
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`)
    return error
  }
  assert.fail('expected a ConfigError')
}

describe('readDevConfig', () => {
  it('defaults to port 3000, the embedded database and the printed development admin', () => {
    const config = readDevConfig({})
    assert.equal(config.port, 3000)
    assert.equal(config.databaseUrl, undefined)
    assert.deepEqual(config.admin, { ...DEV_ADMIN, email: 'admin@example.com', isDefault: true })
    assert.deepEqual(config.pglite, { dataDir: '.data/pglite', port: 0 })
  })

  it('treats empty variables as unset', () => {
    assert.equal(readDevConfig({ PORT: '', DATABASE_URL: '' }).port, 3000)
  })

  it('gives no default admin when DATABASE_URL names a server', () => {
    assert.equal(readDevConfig({ DATABASE_URL: 'postgres://u:p@db.internal:5432/app' }).admin, undefined)
  })

  it('takes the first super_admin from ADMIN_USERNAME and ADMIN_PASSWORD', () => {
    const config = readDevConfig({ ADMIN_USERNAME: 'root.admin', ADMIN_PASSWORD: 'correct horse battery' })
    assert.deepEqual(config.admin, {
      username: 'root.admin',
      password: 'correct horse battery',
      email: 'root.admin@example.com',
      isDefault: false,
    })
  })

  const bad: [string, Env, RegExp][] = [
    ['PORT', { PORT: 'abc' }, /^PORT: must be a whole number$/],
    ['PORT', { PORT: '70000' }, /^PORT: must be a port number/],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://root@localhost/app' }, /^DATABASE_URL: must be a postgres:\/\//],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }, /^DATABASE_URL: must be a postgres:\/\//],
    ['ADMIN_USERNAME', { ADMIN_USERNAME: 'Bad Name', ADMIN_PASSWORD: 'long enough' }, /^ADMIN_USERNAME: must be 3-32/],
    ['ADMIN_PASSWORD', { ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: 'short' }, /^ADMIN_PASSWORD: must be 8 to 128/],
    ['ADMIN_PASSWORD', { ADMIN_USERNAME: 'boss' }, /^ADMIN_PASSWORD: is required when ADMIN_USERNAME is set$/],
    ['ADMIN_USERNAME', { ADMIN_PASSWORD: 'long enough' }, /^ADMIN_USERNAME: is required when ADMIN_PASSWORD is set$/],
    ['ADMIN_EMAIL', { ADMIN_EMAIL: 'nobody' }, /^ADMIN_EMAIL: must be an email address$/],
    ['JWT_SECRET', { JWT_SECRET: 'too-short' }, /^JWT_SECRET: must be at least 32 characters$/],
    ['PGLITE_PORT', { PGLITE_PORT: '-1' }, /^PGLITE_PORT: must be a whole number$/],
    ['WS_PROXY_PORT', { WS_PROXY_PORT: '65536' }, /^WS_PROXY_PORT: must be a port number from 0 to 65535$/],
  ]
  for (const [variable, env, message] of bad) {
    it(`names ${variable} in one line when it is malformed (${JSON.stringify(env)})`, () => {
      const error = configError(() => readDevConfig(env))
      assert.equal(error.variable, variable)
      assert.match(error.message, message)
      assert.doesNotMatch(error.message, /\n/)
    })
  }

  it('never repeats a secret value in its message', () => {
    const error = configError(() => readDevConfig({ DATABASE_URL: 'postgres//user:hunter2-secret@db/app' }))
    assert.doesNotMatch(error.message, /hunter2/)
  })
})

describe('readFunctionConfig', () => {
  it('requires DATABASE_URL', () => {
    assert.equal(configError(() => readFunctionConfig({})).message, 'DATABASE_URL: is required')
  })

  it('uses the Neon defaults when no local proxy is named', () => {
    assert.deepEqual(readFunctionConfig({ DATABASE_URL: 'postgres://u:p@ep-x.eu-central-1.aws.neon.tech/db' }).driver, {
      mode: 'neon',
    })
  })

  it('uses the local proxy named by DATABASE_WS_PROXY', () => {
    const config = readFunctionConfig({ DATABASE_URL: 'postgres://u@127.0.0.1/db', DATABASE_WS_PROXY: '127.0.0.1:5480' })
    assert.deepEqual(config.driver, { mode: 'local', wsProxy: '127.0.0.1:5480' })
  })

  it('names DATABASE_WS_PROXY when it is not host:port', () => {
    const error = configError(() => readFunctionConfig({ DATABASE_URL: 'postgres://u@h/db', DATABASE_WS_PROXY: 'ws://x' }))
    assert.equal(error.variable, 'DATABASE_WS_PROXY')
  })
})

describe('readFunctionConfig under SST', () => {
  it('prefers the linked DatabaseUrl secret to the DATABASE_URL variable', () => {
    const config = readFunctionConfig(
      { DATABASE_URL: 'postgres://u@from-env/db' },
      { DatabaseUrl: { value: 'postgres://u@ep-linked.eu-central-1.aws.neon.tech/db' } },
    )
    assert.equal(config.databaseUrl, 'postgres://u@ep-linked.eu-central-1.aws.neon.tech/db')
  })

  it("takes sst dev's local database proxy from the linked DatabaseWsProxy (infra/dev.ts)", () => {
    const config = readFunctionConfig({}, { DatabaseUrl: { value: 'postgres://postgres@127.0.0.1:55432/postgres' }, DatabaseWsProxy: { value: '127.0.0.1:55433' } })
    assert.deepEqual(config.driver, { mode: 'local', wsProxy: '127.0.0.1:55433' })
    assert.equal(config.databaseUrl, 'postgres://postgres@127.0.0.1:55432/postgres')
  })

  it('falls back to DATABASE_URL when nothing is linked', () => {
    assert.equal(readFunctionConfig({ DATABASE_URL: 'postgres://u@from-env/db' }, {}).databaseUrl, 'postgres://u@from-env/db')
  })

  it('takes a read replica from the DatabaseReplicaUrl secret or DATABASE_REPLICA_URL, and none by default', () => {
    const base = { DATABASE_URL: 'postgres://u@primary/db' }
    assert.equal(readFunctionConfig(base, {}).replicaUrl, undefined)
    assert.equal(readFunctionConfig({ ...base, DATABASE_REPLICA_URL: 'postgres://u@env-replica/db' }, {}).replicaUrl, 'postgres://u@env-replica/db')
    const linked = readFunctionConfig(
      { ...base, DATABASE_REPLICA_URL: 'postgres://u@env-replica/db' },
      { DatabaseReplicaUrl: { value: 'postgres://u@linked-replica/db' } },
    )
    assert.equal(linked.replicaUrl, 'postgres://u@linked-replica/db')
    const error = configError(() => readFunctionConfig({ ...base, DATABASE_REPLICA_URL: 'mysql://u:secret@replica/db' }, {}))
    assert.equal(error.variable, 'DATABASE_REPLICA_URL')
    assert.doesNotMatch(error.message, /secret/)
  })
})

describe('readFunctionConfig pool and retry settings', () => {
  const base = { DATABASE_URL: 'postgres://u@h/db' }

  it('defaults to settings that fit Lambda', () => {
    const config = readFunctionConfig(base, {})
    assert.deepEqual(config.pool, {
      max: 2,
      connectionTimeoutMillis: 2000,
      queryTimeoutMillis: 5000,
      idleTimeoutMillis: 60000,
      idleCheckMillis: 30000,
      pingTimeoutMillis: 300,
    })
    assert.deepEqual(config.resilience, { maxAttempts: 4, breakAfter: 5, cooldownMs: 500 })
  })

  for (const [variable, value, message] of [
    ['DATABASE_POOL_MAX', 'lots', /^DATABASE_POOL_MAX: must be a whole number$/],
    ['DATABASE_POOL_MAX', '0', /^DATABASE_POOL_MAX: must be from 1 to 100$/],
    ['DATABASE_QUERY_TIMEOUT_MS', '5s', /^DATABASE_QUERY_TIMEOUT_MS: must be a whole number$/],
    ['DATABASE_RETRY_ATTEMPTS', '11', /^DATABASE_RETRY_ATTEMPTS: must be from 1 to 10$/],
    ['DATABASE_PING_TIMEOUT_MS', '10', /^DATABASE_PING_TIMEOUT_MS: must be from 50 to 60000$/],
  ] as const) {
    it(`names ${variable} when it is ${value}`, () => {
      const error = configError(() => readFunctionConfig({ ...base, [variable]: value }, {}))
      assert.equal(error.variable, variable)
      assert.match(error.message, message)
    })
  }
})

describe('readThrottleConfig', () => {
  it('defaults to 10 failures a username and 100 an address, in 15 minutes', () => {
    assert.deepEqual(readThrottleConfig({}), { perUsername: 10, perAddress: 100, windowSeconds: 900 })
  })

  it('takes the limits and the window from SIGN_IN_USERNAME_LIMIT, SIGN_IN_ADDRESS_LIMIT and SIGN_IN_WINDOW_SECONDS', () => {
    const config = readThrottleConfig({ SIGN_IN_USERNAME_LIMIT: '5', SIGN_IN_ADDRESS_LIMIT: '500', SIGN_IN_WINDOW_SECONDS: '3600' })
    assert.deepEqual(config, { perUsername: 5, perAddress: 500, windowSeconds: 3600 })
  })

  for (const [variable, value, message] of [
    ['SIGN_IN_USERNAME_LIMIT', 'ten', /^SIGN_IN_USERNAME_LIMIT: must be a whole number$/],
    ['SIGN_IN_USERNAME_LIMIT', '0', /^SIGN_IN_USERNAME_LIMIT: must be from 1 to 10000$/],
    ['SIGN_IN_ADDRESS_LIMIT', '-1', /^SIGN_IN_ADDRESS_LIMIT: must be a whole number$/],
    ['SIGN_IN_WINDOW_SECONDS', '15m', /^SIGN_IN_WINDOW_SECONDS: must be a whole number$/],
    ['SIGN_IN_WINDOW_SECONDS', '86401', /^SIGN_IN_WINDOW_SECONDS: must be from 1 to 86400$/],
  ] as const) {
    it(`names ${variable} when it is ${value}`, () => {
      const error = configError(() => readThrottleConfig({ [variable]: value }))
      assert.equal(error.variable, variable)
      assert.match(error.message, message)
    })
  }
})

describe('readCorsPolicy (CORS_ORIGINS)', () => {
  it('allows no other origin when unset, empty or blank: the restrictive default', () => {
    for (const value of [undefined, '', '  ', ' , ']) assert.equal(readCorsPolicy({ CORS_ORIGINS: value }), undefined, JSON.stringify(value))
    assert.equal(readDevConfig({}).cors, undefined)
  })

  it('takes origins as browsers send them: host lower-cased, default port and trailing slash dropped, each once', () => {
    const policy = readCorsPolicy({ CORS_ORIGINS: 'https://App.Example.com:443/, http://localhost:5173 ,https://app.example.com,http://[::1]:8080' })
    assert.deepEqual(policy?.origins, ['https://app.example.com', 'http://localhost:5173', 'http://[::1]:8080'])
    assert.deepEqual(readDevConfig({ CORS_ORIGINS: 'http://127.0.0.1:3001' }).cors?.origins, ['http://127.0.0.1:3001'])
  })

  it('takes * alone for every origin', () => {
    assert.deepEqual(readCorsPolicy({ CORS_ORIGINS: ' * ' })?.origins, ['*'])
  })

  const notOrigins = [
    'app.example.com',
    'ftp://app.example.com',
    'https://app.example.com/app',
    'https://app.example.com?from=x',
    'https://app.example.com#top',
    'https://user:pw@app.example.com',
    'https://app.example.com:99999',
    'https://',
    'https://*',
    'https://*.example.com',
    'null',
    'https://app.example.com https://other.example.com',
  ]
  for (const value of notOrigins) {
    it(`names CORS_ORIGINS in one line when it lists ${JSON.stringify(value)}`, () => {
      const error = configError(() => readCorsPolicy({ CORS_ORIGINS: `http://localhost:5173,${value}` }))
      assert.equal(error.variable, 'CORS_ORIGINS')
      assert.match(error.message, /^CORS_ORIGINS: must be origins separated by commas, each http:\/\/ or https:\/\/, a host and an optional port/)
      assert.doesNotMatch(error.message, /\n/)
    })
  }

  it('refuses * with other origins', () => {
    assert.equal(configError(() => readCorsPolicy({ CORS_ORIGINS: '*, https://app.example.com' })).message, 'CORS_ORIGINS: * (every origin) cannot be listed with other origins')
  })

  it('stops the dev tools at start on a bad value (readDevConfig)', () => {
    assert.equal(configError(() => readDevConfig({ CORS_ORIGINS: 'https://app.example.com/app' })).variable, 'CORS_ORIGINS')
  })
})
