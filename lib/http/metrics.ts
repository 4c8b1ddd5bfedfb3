/**
 * Figures a request gathers on its way (how long it waited for a database connection, how
 * many attempts failed and were retried, which database answered, whether the answer was
 * stale). They go on the request's log line, which is also a CloudWatch Embedded Metric
 * Format document: CloudWatch turns its fields into metrics per route with no agent and no
 * API call (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 */

export interface RequestMetrics {
  /** The request ran statements (or tried to). */
  dbUsed: boolean
  /** Time spent waiting for pooled connections (and opening new ones). */
  dbWaitMs: number
  /** Attempts that failed and were tried again. */
  dbRetries: number
  /** The database that answered, when it was not the primary. */
  dbSource: 'replica' | undefined
  /** The answer came from the stale cache. */
  stale: boolean
}

export function newMetrics(): RequestMetrics {
  return { dbUsed: false, dbWaitMs: 0, dbRetries: 0, dbSource: undefined, stale: false }
}

/** The namespace of the metrics in CloudWatch. */
export const METRICS_NAMESPACE = 'users-api'

const DURATION = '{"Name":"duration_ms","Unit":"Milliseconds"}'
const DB_METRICS = ',{"Name":"db_wait_ms","Unit":"Milliseconds"},{"Name":"db_retries","Unit":"Count"},{"Name":"stale","Unit":"Count"}'

/**
 * The `_aws` member and metric fields of a request line (each starting with a comma), or ''
 * for a request that matched no route: a metric's dimension must be a string.
 */
export function emfFields(route: string | null, metrics: RequestMetrics): string {
  if (route === null) return ''
  const usedDatabase = metrics.dbUsed || metrics.stale
  const declared = usedDatabase ? DURATION + DB_METRICS : DURATION
  let fields = `,"_aws":{"Timestamp":${Date.now()},"CloudWatchMetrics":[{"Namespace":"${METRICS_NAMESPACE}","Dimensions":[["route"]],"Metrics":[${declared}]}]}`
  if (usedDatabase) {
    fields += `,"db_wait_ms":${Math.round(metrics.dbWaitMs * 100) / 100},"db_retries":${metrics.dbRetries},"stale":${metrics.stale ? 1 : 0}`
    if (metrics.dbSource !== undefined) fields += `,"db_source":"${metrics.dbSource}"`
  }
  return fields
}
