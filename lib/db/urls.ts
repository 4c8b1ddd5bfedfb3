/**
 * What a database URL says, in one place for every reader: the function and dev configuration
 * (lib/config.ts), the dev database (lib/dev/database.ts) and `sst dev`'s settings
 * (infra/settings.ts). No imports, so that SST's build of sst.config.ts can load it.
 */

export function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== ''
  } catch {
    return false
  }
}

/** A Neon endpoint, reached over Neon's own secure WebSocket proxy rather than a local one. */
export function isNeonHost(host: string): boolean {
  return host.endsWith('.neon.tech') || host.endsWith('.neon.build')
}
