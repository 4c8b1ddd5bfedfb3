/**
 * What logs, metrics and traces are told by the configuration, with the variables Powertools
 * for AWS Lambda reads, so that a function and its dashboards work as a Powertools user
 * expects:
 *
 * - the log level from `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls), else
 *   `POWERTOOLS_LOG_LEVEL`, else `LOG_LEVEL`; INFO when none is set;
 * - the service (`POWERTOOLS_SERVICE_NAME`) on every line and as a metric dimension, with the
 *   stage (`STAGE`, which the SST config sets to the stage's name) beside it, so that a
 *   personal stage and production in one account feed separate series;
 * - the metrics' namespace (`POWERTOOLS_METRICS_NAMESPACE`);
 * - the function (`AWS_LAMBDA_FUNCTION_NAME`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`: Lambda's).
 *
 * Read where the app is made (createApp), like the CORS policy, so that a bad value stops the
 * function with the variable's name, never a value.
 */
import { ConfigError } from './config-error.ts'

export type Env = Readonly<Record<string, string | undefined>>

/** Powertools' levels, by rank; TRACE is DEBUG here, CRITICAL is ERROR, SILENT writes nothing. */
const LEVELS = { TRACE: 10, DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, CRITICAL: 40, SILENT: 100 } as const

export type LevelName = keyof typeof LEVELS

export interface Telemetry {
  /** Lines below this rank are not written. */
  readonly minRank: number
  readonly service: string
  readonly namespace: string
  readonly stage: string
  readonly functionName: string | undefined
  readonly functionMemoryMb: number | undefined
}

export const DEFAULT_SERVICE = 'users-api'

const NAME = /^[\w.:/#@ -]{1,255}$/

function name(env: Env, variable: string, fallback: string): string {
  const value = env[variable]
  if (value === undefined || value === '') return fallback
  if (!NAME.test(value)) throw new ConfigError(variable, 'must be 1 to 255 letters, digits, spaces or . _ - : / # @')
  return value
}

export function readTelemetry(env: Env): Telemetry {
  let minRank: number = LEVELS.INFO
  for (const variable of ['AWS_LAMBDA_LOG_LEVEL', 'POWERTOOLS_LOG_LEVEL', 'LOG_LEVEL']) {
    const value = env[variable]
    if (value === undefined || value === '') continue
    const rank = LEVELS[value.toUpperCase() as LevelName] as number | undefined
    if (rank === undefined) throw new ConfigError(variable, `must be one of ${Object.keys(LEVELS).join(', ')} (any case)`)
    minRank = rank
    break
  }
  const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE)
  return {
    minRank,
    service: name(env, 'POWERTOOLS_SERVICE_NAME', DEFAULT_SERVICE),
    namespace: name(env, 'POWERTOOLS_METRICS_NAMESPACE', DEFAULT_SERVICE),
    stage: name(env, 'STAGE', 'local'),
    functionName: env.AWS_LAMBDA_FUNCTION_NAME || undefined,
    functionMemoryMb: Number.isInteger(memory) && memory > 0 ? memory : undefined,
  }
}

let current: Telemetry = readTelemetry({})
const listeners: ((telemetry: Telemetry) => void)[] = []

/** The process's settings (one app per process on Lambda): the last app made sets them. */
export function telemetry(): Telemetry {
  return current
}

export function configureTelemetry(env: Env): Telemetry {
  current = readTelemetry(env)
  for (const listener of listeners) listener(current)
  return current
}

/** Runs `listener` with the settings now and whenever they change (what a module precomputes from them). */
export function onTelemetry(listener: (telemetry: Telemetry) => void): void {
  listeners.push(listener)
  listener(current)
}

export function rankOf(level: 'debug' | 'info' | 'warn' | 'error'): number {
  return LEVELS[level.toUpperCase() as LevelName]
}
