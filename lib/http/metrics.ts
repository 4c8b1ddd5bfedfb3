/**
 * Figures a request gathers on its way (how long it waited for a database connection, how
 * many attempts failed and were retried, which database answered, whether the answer was
 * stale). They go on the request's log line, which is also a CloudWatch Embedded Metric
 * Format document: CloudWatch turns its fields into metrics per route with no agent and no
 * API call (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * Namespace, service and stage come from the configuration (lib/telemetry.ts).
 */
import { onTelemetry } from '../telemetry.ts'

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

const DURATION = '{"Name":"duration_ms","Unit":"Milliseconds"}'
const DB_METRICS = ',{"Name":"db_wait_ms","Unit":"Milliseconds"},{"Name":"db_retries","Unit":"Count"},{"Name":"stale","Unit":"Count"},{"Name":"unavailable","Unit":"Count"}'

/** What every document says, from the configuration: the namespace, and the service and stage (dimensions). */
let namespace = ''
let serviceStage = ''
let functionName = ''
let stageField = ''
let serviceField = ''

onTelemetry((settings) => {
  namespace = JSON.stringify(settings.namespace)
  serviceStage = `"service":${JSON.stringify(settings.service)},"stage":${JSON.stringify(settings.stage)}`
  functionName = settings.functionName === undefined ? '' : JSON.stringify(settings.functionName)
  stageField = `,"stage":${JSON.stringify(settings.stage)}`
  serviceField = `"service":${JSON.stringify(settings.service)}`
})

/**
 * The `_aws` member and metric fields of a request line (each starting with a comma), or ''
 * for a request that matched no route: a metric's dimension must be a string. The line holds
 * the `service` and `route` dimensions itself; this adds `stage`. Per route, service and
 * stage: `duration_ms`; for a route that used the database, also the wait for a connection,
 * the retries, whether the answer was stale, and whether it was a 503 (`unavailable`).
 */
export function emfFields(route: string | null, metrics: RequestMetrics, status: number): string {
  if (route === null) return ''
  const usedDatabase = metrics.dbUsed || metrics.stale || status === 503
  const declared = usedDatabase ? DURATION + DB_METRICS : DURATION
  let fields = `${stageField},"_aws":{"Timestamp":${Date.now()},"CloudWatchMetrics":[{"Namespace":${namespace},"Dimensions":[["service","stage","route"]],"Metrics":[${declared}]}]}`
  if (usedDatabase) {
    fields += `,"db_wait_ms":${Math.round(metrics.dbWaitMs * 100) / 100},"db_retries":${metrics.dbRetries},"stale":${metrics.stale ? 1 : 0},"unavailable":${status === 503 ? 1 : 0}`
    if (metrics.dbSource !== undefined) fields += `,"db_source":"${metrics.dbSource}"`
  }
  return fields
}

/** A request's metrics alone, for when its log line is not written (`LOG_LEVEL=warn`): no `level`, so that no level filter drops it. */
export function metricsDocument(route: string | null, metrics: RequestMetrics, status: number, durationMs: number): string | undefined {
  if (route === null) return undefined
  return `{${serviceField},"route":${JSON.stringify(route)},"duration_ms":${durationMs}${emfFields(route, metrics, status)}}`
}

/** Powertools' ColdStart metric: 1 from an instance's first request, by service, stage and function. */
export function coldStartDocument(): string {
  const dimensions = functionName === '' ? '["service","stage"]' : '["service","stage","function_name"]'
  return `{"_aws":{"Timestamp":${Date.now()},"CloudWatchMetrics":[{"Namespace":${namespace},"Dimensions":[${dimensions}],"Metrics":[{"Name":"ColdStart","Unit":"Count"}]}]},${serviceStage}${
    functionName === '' ? '' : `,"function_name":${functionName}`
  },"ColdStart":1}`
}
