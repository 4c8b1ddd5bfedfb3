/**
 * `npm run typecheck:sst`: installs SST's platform with the CLI this project installs
 * (`sst install`: the providers of sst.config.ts and the `.sst/platform` types), then
 * type-checks sst.config.ts and infra/ against it, so that a provider pin the CLI refuses or a
 * component argument it does not know fails here, not at a user's first deploy.
 *
 * It needs nothing but the npm registry. The CLI downloads Pulumi when it starts, though
 * `sst install` only asks it for its version; so the CLI gets a home of its own under .sst/
 * (XDG_CONFIG_HOME), and when the download fails, a stand-in that answers `pulumi version`
 * with the version the CLI asked for (and refuses anything else) is put there and the install
 * is tried again. The user's own SST home is never touched. Bun is not used (SST_NO_BUN): the
 * platform's packages come from the npm registry through npm. It installs every provider the
 * config may declare (EDGE_WORKER=1), so the next `sst` command without the Worker reinstalls
 * (in seconds).
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { PROVIDERS } from '../../infra/settings.ts'
import { fail } from './cli.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const CLI_HOME = join(ROOT, '.sst', 'cli-home')
const PLATFORM = join(ROOT, '.sst', 'platform')
/** Any stage will do: `sst install` reads `app()` for it and deploys nothing. */
const STAGE = 'typecheck'
/** The packages behind the names in PROVIDERS, as the platform's package.json lists them. */
const PACKAGES: Record<keyof typeof PROVIDERS, string> = { aws: '@pulumi/aws', random: '@pulumi/random', cloudflare: '@pulumi/cloudflare' }

class CheckError extends Error {
  override name = 'CheckError'
}

function install(): void {
  // --print-logs: on some failures the CLI's own message is only "Unexpected error occurred",
  // and the reason ("provider cloudflare not found") is in its log.
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'sst'), ['install', '--stage', STAGE, '--print-logs'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      XDG_CONFIG_HOME: CLI_HOME,
      SST_NO_BUN: '1',
      SST_TELEMETRY_DISABLED: '1',
      // Every provider the config may declare, the Worker's included.
      EDGE_WORKER: '1',
    },
  })
  if (result.error) throw result.error
  if (result.status === 0) return
  // What the CLI said, and the error lines of its log; not the log's other lines.
  const said = `${result.stdout}${result.stderr}`
    .split('\n')
    .filter((line) => line.trim() !== '' && (!line.startsWith('time=') || line.includes(' level=ERROR ')))
  throw new CheckError(said.join('\n') || `sst install exited with ${result.status}`)
}

/** The Pulumi version the CLI tried to download, from its error: `…/download/v3.215.0/pulumi-v3.215.0-…`. */
function wantedPulumi(output: string): string | undefined {
  return /releases\/download\/v(\d+\.\d+\.\d+)\/pulumi-v/.exec(output)?.[1]
}

function putPulumiStandIn(version: string): void {
  const bin = join(CLI_HOME, 'sst', 'bin')
  mkdirSync(bin, { recursive: true })
  const file = join(bin, 'pulumi')
  const script = [
    '#!/bin/sh',
    '# Stand-in written by npm run typecheck:sst: `sst install` only asks Pulumi its version.',
    `if [ "$1" = version ] && [ $# -eq 1 ]; then echo v${version}; exit 0; fi`,
    `echo 'pulumi stand-in (npm run typecheck:sst): only "pulumi version" is answered here' >&2`,
    'exit 1',
    '',
  ]
  writeFileSync(file, script.join('\n'))
  chmodSync(file, 0o755)
}

function installPlatform(): void {
  try {
    install()
    return
  } catch (error) {
    const version = error instanceof CheckError ? wantedPulumi(error.message) : undefined
    if (version === undefined) throw error
    putPulumiStandIn(version)
    console.log(`pulumi    the CLI could not download Pulumi ${version}; a stand-in that answers "pulumi version" is in .sst/cli-home`)
  }
  install()
}

/** Each pin of PROVIDERS equals the version the installed SST's platform is built against. */
function checkPins(): void {
  const manifest = JSON.parse(readFileSync(join(PLATFORM, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
  const sstVersion = readFileSync(join(PLATFORM, 'version'), 'utf8').trim()
  for (const [name, pinned] of Object.entries(PROVIDERS)) {
    const shipped = manifest.dependencies?.[PACKAGES[name as keyof typeof PROVIDERS]]
    if (shipped !== pinned) {
      throw new CheckError(`PROVIDERS.${name} in infra/settings.ts is ${pinned}, but SST ${sstVersion} is built against ${shipped ?? 'none'}: pin ${shipped ?? 'nothing'}`)
    }
  }
  console.log(`platform  SST ${sstVersion} in .sst/platform; providers ${Object.entries(PROVIDERS).map(([name, version]) => `${name} ${version}`).join(', ')}`)
}

function typecheck(): void {
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.sst.json'], { cwd: ROOT, encoding: 'utf8' })
  if (result.error) throw result.error
  if (result.status !== 0) {
    process.stdout.write(result.stdout)
    throw new CheckError('sst.config.ts and infra/ do not type-check against .sst/platform (above)')
  }
  console.log('types     sst.config.ts and infra/ type-check against .sst/platform')
}

try {
  installPlatform()
  checkPins()
  typecheck()
} catch (error) {
  if (error instanceof CheckError && error.message.includes('\n')) {
    // The CLI's own words, whole: they say which provider or version it refused.
    console.error(error.message)
    fail(new Error('sst install failed (above)'))
  }
  fail(error)
}
