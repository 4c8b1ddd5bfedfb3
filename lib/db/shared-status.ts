/**
 * A database's status as the instances of its functions share it, in the shared tier
 * (Redis): the last finding of any instance (down, or back, and when), and the token that
 * lets one instance at a time probe it. Keys are per database (`primary`, `replica`) under
 * the store's own prefix, which names the service's database.
 */
import type { SharedStore } from '../http/stale-cache.ts'
import type { Finding, SharedStatus } from './resilience.ts'

/**
 * How long a finding is kept: long enough to outlast any outage a request would wait for,
 * short enough that one left by instances that all stopped is soon forgotten. While the
 * database stays down, every failed probe writes it again.
 */
const FINDING_TTL_MS = 10 * 60_000

const FINDING = /^(down|up):(\d{1,15})$/

export function sharedStatus(store: SharedStore, database: string): SharedStatus {
  const key = `db-status:${database}`
  return {
    async read() {
      const match = FINDING.exec((await store.get(key)) ?? '')
      return match === null ? undefined : { down: match[1] === 'down', at: Number(match[2]) }
    },
    write: (finding: Finding) => store.set(key, `${finding.down ? 'down' : 'up'}:${finding.at}`, FINDING_TTL_MS),
    claimProbe: (ms) => store.claim(`db-probe:${database}`, ms),
  }
}
