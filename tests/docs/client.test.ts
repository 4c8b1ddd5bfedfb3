/**
 * What a client generator makes of the document the API serves: openapi-typescript 7 writes
 * the types, TypeScript compiles calls made with openapi-fetch against them (strict), and the
 * same calls then run against the API. A document that declares `page` a string, as it did
 * before issue 17, does not compile with `page: 2`: the test shows that too.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { serve, type ServerType } from '@hono/node-server'
import openapiTS, { astToString } from 'openapi-typescript'
import ts from 'typescript'
import { route as openapi } from '../../functions/openapi.json/get.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { createApp, type App } from '../../lib/http/app.ts'
import { createUser, type TestUser } from '../support/auth.ts'
import { functionEnv, startTestDatabase } from '../support/database.ts'
import { getAvatar, getUser, listUsersRoute, login, putAvatarRoute } from '../support/routes.ts'

/** Calls as a user of the generated types writes them; each result is typed by the document. */
const CLIENT = `import createClient from 'openapi-fetch'
import type { paths } from './api.ts'

export async function run(baseUrl: string, username: string, password: string, avatar: Blob) {
  const client = createClient<paths>({ baseUrl })
  const signIn = await client.POST('/auth/token', {
    body: { username, password },
    bodySerializer: (body) => new URLSearchParams(body),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  })
  if (signIn.data === undefined) throw new Error(\`sign-in: \${signIn.response.status}\`)
  const token: string = signIn.data.access_token
  const headers = { Authorization: \`Bearer \${token}\` }

  const listed = await client.GET('/users', { params: { query: { page: 1, results_per_page: 2, search: username } }, headers })
  if (listed.data === undefined) throw new Error(\`listing: \${listed.response.status}\`)
  const total: number = listed.data.total
  const first: string | undefined = listed.data.items[0]?.username

  const id: number = listed.data.items[0]?.id ?? 0
  const read = await client.GET('/users/{id}', { params: { path: { id } }, headers })
  const role: 'user' | 'admin' | 'super_admin' | undefined = read.data?.role

  const stored = await client.PUT('/users/{id}/avatar', {
    params: { path: { id } },
    body: avatar,
    bodySerializer: (body) => body,
    headers: { ...headers, 'Content-Type': 'image/png' },
  })
  const fetched = await client.GET('/users/{id}/avatar', { params: { path: { id } }, headers, parseAs: 'blob' })

  const invalid = await client.GET('/users', { params: { query: { page: 0 } }, headers })
  // A 422's detail is a list of problems; other errors' is a message.
  const detail = invalid.error?.detail
  const problem: string | undefined = Array.isArray(detail) ? detail[0]?.msg : detail

  return { total, first, role, stored: stored.response.status, avatarBytes: fetched.data?.size, invalid: invalid.response.status, problem }
}
`

/** Binary bodies as Blob, as openapi-typescript's documentation shows for `format: binary`. */
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier('Blob'))

async function generate(document: unknown, folder: string): Promise<string> {
  const ast = await openapiTS(document as Parameters<typeof openapiTS>[0], {
    transform: (schema) => (schema.format === 'binary' ? BLOB : undefined),
  })
  writeFileSync(join(folder, 'api.ts'), astToString(ast))
  const client = join(folder, 'client.ts')
  writeFileSync(client, CLIENT)
  return client
}

/** TypeScript's diagnostics for the client, compiled strict as the project compiles itself. */
function compile(client: string): ts.Diagnostic[] {
  const program = ts.createProgram([client], {
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    skipLibCheck: true,
  })
  return [...ts.getPreEmitDiagnostics(program)]
}

const describeDiagnostics = (diagnostics: readonly ts.Diagnostic[]) =>
  diagnostics.map((item) => `${item.file ? `line ${item.file.getLineAndCharacterOfPosition(item.start ?? 0).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(item.messageText, '\n')}`)

describe('a typed client generated from the served document', () => {
  mkdirSync(join(process.cwd(), '.data'), { recursive: true })
  const folder = mkdtempSync(join(process.cwd(), '.data', 'client-'))
  let database: DevDatabase
  let admin: TestUser
  let app: App
  let server: ServerType
  let base: string
  let document: { paths: Record<string, Record<string, { parameters?: { name: string; schema: Record<string, unknown> }[] }>> }

  before(async () => {
    database = await startTestDatabase()
    admin = await createUser(database.url, { prefix: 'client', role: 'super_admin' })
    app = createApp({ routes: [openapi, login, listUsersRoute, getUser, putAvatarRoute, getAvatar], env: functionEnv(database) })
    await app.startup()
    server = serve({ fetch: app.hono.fetch, hostname: '127.0.0.1', port: 0 })
    await new Promise((resolve) => server.once('listening', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    document = (await (await fetch(`${base}/openapi.json`)).json()) as typeof document
  })
  after(async () => {
    await new Promise((resolve) => server.close(resolve))
    await app.shutdown()
    await database.close()
    rmSync(folder, { recursive: true, force: true })
  })

  it('compiles calls with integers for integers, named models, binary bodies as Blob; and the calls work', async () => {
    const client = await generate(document, folder)
    assert.deepEqual(describeDiagnostics(compile(client)), [])
    const { run } = (await import(pathToFileURL(client).href)) as { run: (...args: unknown[]) => Promise<Record<string, unknown>> }
    const png = new Blob([Buffer.from('89504e470d0a1a0a', 'hex')], { type: 'image/png' })
    assert.deepEqual(await run(base, admin.username, admin.password, png), {
      total: 1,
      first: admin.username,
      role: 'super_admin',
      stored: 204,
      avatarBytes: 8,
      invalid: 422,
      problem: 'Input should be greater than or equal to 1',
    })
  })

  it('does not compile `page: 1` against a document that says page is a string (the document before issue 17)', async () => {
    const mutated = structuredClone(document)
    const page = mutated.paths['/users']?.get?.parameters?.find((parameter) => parameter.name === 'page')
    assert.ok(page)
    page.schema = { type: 'string', default: '1' }
    const mutant = mkdtempSync(join(folder, 'mutant-'))
    const problems = describeDiagnostics(compile(await generate(mutated, mutant)))
    assert.ok(problems.length > 0, 'the mutated document compiled')
    const line = CLIENT.split('\n').findIndex((text) => text.includes('page: 1,')) + 1
    assert.ok(problems.some((problem) => problem.startsWith(`line ${line}: `) && /number.*not assignable to type 'string'/s.test(problem)), problems.join('\n'))
  })
})
