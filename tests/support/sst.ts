/**
 * `sst.config.ts` loaded with recording stand-ins for `$config`, `$app`, `$dev`, `$util`,
 * `sst.*` and `random.*`, since the SST CLI cannot deploy here (it needs AWS and downloads
 * Pulumi). The stand-ins record what the config declares and keep SST's rules
 * (.sst/platform/src/components): names unique in any case and never `App` (link.ts), no
 * undefined link; a secret's value is SST_SECRET_<name> (what `sst secret set` gives the
 * config) or else its placeholder, and one with neither stops the deploy (secret.ts). A
 * linked resource reaches a function as `SST_RESOURCE_<name>` holding the JSON of its
 * properties (Link.propertiesToEnv), which is what `Resource` from `sst/resource` reads.
 */

/** Something a function can be linked to. */
export interface StandInLinkable {
  readonly name: string
  properties(): Record<string, unknown>
}

const names = new Set<string>()

/** Link.build's rules: a name once, in any case, and never `App` (SST_RESOURCE_App). */
function claim(name: string): void {
  const key = name.toLowerCase()
  if (key === 'app') throw new Error(`"${name}" is reserved by SST for the app itself`)
  if (names.has(key)) throw new Error(`two linkable resources named "${name}" (names are compared ignoring case)`)
  names.add(key)
}

/** Link.build's other rule: every link is a resource (an undefined one is a missing variable). */
function checkLinks(owner: string, links: readonly unknown[] | undefined): void {
  if (links?.some((link) => link === undefined)) throw new Error(`${owner}: an undefined link`)
}

/** A Pulumi Output: made at once here, and marked when it is secret. */
export class StandInOutput {
  readonly value: string
  readonly secret: boolean
  constructor(value: string, secret: boolean) {
    this.value = value
    this.secret = secret
  }
}

const resolve = (value: unknown) => (value instanceof StandInOutput ? value.value : value)

export class StandInSecret implements StandInLinkable {
  readonly name: string
  readonly placeholder: unknown
  /** What `sst secret set` gave the config, read as sst.Secret reads it. */
  readonly set: string | undefined
  constructor(name: string, placeholder?: unknown) {
    claim(name)
    this.name = name
    this.placeholder = placeholder
    this.set = process.env[`SST_SECRET_${name}`]
    recorded.secrets.push(this)
  }
  properties(): Record<string, unknown> {
    const value = this.set ?? resolve(this.placeholder)
    if (typeof value !== 'string') throw new Error(`${this.name}: neither set nor a placeholder; SST stops the deploy`)
    return { value }
  }
}

export class LinkableStandIn implements StandInLinkable {
  readonly name: string
  readonly definition: { properties: Record<string, unknown> }
  constructor(name: string, definition: { properties: Record<string, unknown> }) {
    claim(name)
    this.name = name
    this.definition = definition
    recorded.linkables.push(this)
  }
  properties(): Record<string, unknown> {
    return Object.fromEntries(Object.entries(this.definition.properties).map(([key, value]) => [key, resolve(value)]))
  }
}

class RandomPassword {
  readonly name: string
  readonly args: { length: number; special?: boolean }
  readonly result: StandInOutput
  constructor(name: string, args: { length: number; special?: boolean }) {
    this.name = name
    this.args = args
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
    this.result = new StandInOutput(Array.from({ length: args.length }, (_, index) => alphabet[(index * 7) % alphabet.length]).join(''), true)
    recorded.passwords.push(this)
  }
}

export interface RouteArgs {
  readonly handler: string
  readonly runtime: string
  readonly architecture: string
  readonly memory: string
  readonly timeout: string
  readonly link?: StandInLinkable[]
  readonly environment?: Record<string, string>
  readonly copyFiles?: { readonly from: string; readonly to?: string }[]
  readonly transform?: { readonly function?: { readonly tracingConfig?: { readonly mode: string } } }
  readonly permissions?: { readonly actions: string[]; readonly resources: string[] }[]
}

class ApiGatewayV2 {
  readonly name: string
  readonly args: { cors?: unknown }
  readonly routes: { key: string; args: RouteArgs }[] = []
  readonly url = 'https://api.example.invalid'
  constructor(name: string, args: ApiGatewayV2['args'] = {}) {
    this.name = name
    this.args = args
    recorded.apis.push(this)
  }
  route(key: string, args: RouteArgs) {
    checkLinks(key, args.link)
    this.routes.push({ key, args })
  }
}

class Worker {
  readonly url = 'https://edge.example.invalid'
  readonly name: string
  readonly args: { handler: string; url: boolean; link: StandInLinkable[]; environment?: Record<string, string> }
  constructor(name: string, args: Worker['args']) {
    checkLinks(name, args.link)
    this.name = name
    this.args = args
    recorded.workers.push(this)
  }
}

export interface DevCommandArgs {
  readonly dev: { title?: string; command: string; autostart?: boolean; directory?: string }
  readonly environment?: Record<string, string>
  readonly link?: StandInLinkable[]
}

class DevCommand {
  readonly name: string
  readonly args: DevCommandArgs
  constructor(name: string, args: DevCommandArgs) {
    checkLinks(name, args.link)
    this.name = name
    this.args = args
    recorded.devCommands.push(this)
  }
}

const recorded = {
  secrets: [] as StandInSecret[],
  linkables: [] as LinkableStandIn[],
  passwords: [] as RandomPassword[],
  apis: [] as ApiGatewayV2[],
  workers: [] as Worker[],
  devCommands: [] as DevCommand[],
}

export type Recorded = typeof recorded

export interface SstConfig {
  app(input: { stage: string }): Promise<{ name: string; home: string; removal: string; protect: boolean; providers: Record<string, unknown> }>
  run(): Promise<Record<string, unknown>>
}

/** The shell variables the config reads; each is set as given, or unset, while it runs. */
const SHELL = [
  'EDGE_WORKER',
  'XRAY_TRACING',
  'DATABASE_URL',
  'PGLITE_PORT',
  'WS_PROXY_PORT',
  'CORS_ORIGINS',
  // What `sst secret set` gives the config (sst.Secret reads these).
  'SST_SECRET_DatabaseUrl',
  'SST_SECRET_AdminPassword',
  'SST_SECRET_AdminUsername',
  'SST_SECRET_JwtSecret',
] as const
export type Shell = Partial<Record<(typeof SHELL)[number], string>>

async function withShell<T>(shell: Shell, body: () => Promise<T>): Promise<T> {
  const saved = SHELL.map((name) => [name, process.env[name]] as const)
  for (const name of SHELL) {
    if (shell[name] === undefined) delete process.env[name]
    else process.env[name] = shell[name]
  }
  try {
    return await body()
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

export async function loadSstConfig(): Promise<SstConfig> {
  Object.assign(globalThis, {
    $config: (definition: SstConfig) => definition,
    $app: { name: 'users-api', stage: 'test' },
    $dev: false,
    sst: { Secret: StandInSecret, Linkable: LinkableStandIn, aws: { ApiGatewayV2 }, cloudflare: { Worker }, x: { DevCommand } },
    random: { RandomPassword },
    $util: { secret: (value: string) => new StandInOutput(value, true) },
  })
  // Through a variable, so that the type checker does not follow it: sst.config.ts is typed by
  // .sst/platform (npm run typecheck:sst checks it there).
  const file = '../../sst.config.ts'
  return ((await import(file)) as { default: SstConfig }).default
}

/** `app()` for a stage, with the given shell. */
export function appOf(config: SstConfig, stage: string, shell: Shell = {}) {
  return withShell(shell, () => config.app({ stage }))
}

/** `run()` as `sst deploy` (dev: false) or `sst dev` (dev: true) would, with the given shell. */
export async function runConfig(config: SstConfig, options: { dev: boolean; shell?: Shell }): Promise<{ recorded: Recorded; outputs: Record<string, unknown> }> {
  for (const list of Object.values(recorded)) list.length = 0
  names.clear()
  Object.assign(globalThis, { $dev: options.dev })
  const outputs = await withShell(options.shell ?? {}, () => config.run())
  const snapshot: Recorded = {
    secrets: [...recorded.secrets],
    linkables: [...recorded.linkables],
    passwords: [...recorded.passwords],
    apis: [...recorded.apis],
    workers: [...recorded.workers],
    devCommands: [...recorded.devCommands],
  }
  return { recorded: snapshot, outputs }
}

/** The environment SST gives a function linked to `links` (Link.propertiesToEnv). */
export function linkedEnv(links: readonly StandInLinkable[]): Record<string, string> {
  const env: Record<string, string> = { SST_RESOURCE_App: JSON.stringify({ name: 'users-api', stage: 'test' }) }
  for (const link of links) env[`SST_RESOURCE_${link.name}`] = JSON.stringify(link.properties())
  return env
}
