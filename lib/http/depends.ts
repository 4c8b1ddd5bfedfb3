/**
 * FastAPI's `Depends`, with the graph declared rather than read from signatures (TypeScript
 * has none at run time): a dependency names the dependencies it needs, and the values they
 * resolve to arrive typed in its function. Per request, each dependency runs once and its
 * value is shared (`fresh(dep)` opts one use out of the cache). A dependency written as an
 * async generator yields its value and runs the rest as teardown after the response, in
 * reverse order of setup; if the handler threw, the error is thrown into it at its `yield`
 * (so a transaction can roll back). The graph is checked for cycles when a route is defined.
 */
import type { Context } from 'hono'
import { log } from '../log.ts'
import type { BackgroundTasks } from './background.ts'
import type { RequestMetrics } from './metrics.ts'
import type { Tracer } from '../trace.ts'
import type { Lifespan } from './lifespan.ts'
import type { StaleCache } from './stale-cache.ts'

/** What a dependency (and, as `c.var.scope`, a handler) can see of the request being served. */
export interface RequestScope {
  /** Hono's context of the request: `c.req`, `c.env`, `c.header()` for a response header. */
  readonly context: Context
  /** The request as a web `Request` (FastAPI's `request: Request`). */
  readonly request: Request
  readonly requestId: string
  /** FastAPI's `BackgroundTasks`: run after the response, before the invocation ends. */
  readonly background: BackgroundTasks
  /** The state of a lifespan the app runs (the pool of the `database` lifespan). */
  state<S>(lifespan: Lifespan<S>): S
  /** Milliseconds left before the request's deadline (Lambda's remaining time). */
  remainingMs(): number
  /** Figures for the request's log line (database wait, retries, stale answers). */
  readonly metrics: RequestMetrics
  /** Where a traced request's statements go as spans (lib/trace.ts); undefined when it is not traced. */
  readonly tracer: Tracer | undefined
  /** A request header (names are case-insensitive), without making a web `Request`. */
  header(name: string): string | undefined
  /**
   * Keeps a last good value for `ttlMs` (in the instance at once, and in the shared tier when
   * there is one), for a later request to fall back on when the database cannot answer. The
   * promise is the shared copy's write (it never rejects), which finishes after the response
   * when not awaited.
   */
  keepLastGood(key: string, value: string, ttlMs: number): Promise<void>
  /**
   * A value kept with `keepLastGood`, and its age; undefined when none may be used. `newest`:
   * the newer of the instance's and the shared tier's (for a value other instances change).
   */
  findLastGood(key: string, options?: { readonly newest?: boolean }): Promise<{ readonly value: string; readonly ageSeconds: number } | undefined>
  /** The app's stale cache: it lives as long as the instance (a Lambda instance, a Workers isolate). */
  readonly cache: StaleCache
  /**
   * Milliseconds left of the stale budget (from the request's start) of a route that may
   * answer stale (`staleFallback`); undefined for any other route.
   */
  staleBudgetLeftMs(): number | undefined
  /**
   * Stops the request's database work, once it has another answer to give: statements in
   * flight are abandoned (their connections closed, not reused), later ones fail at once.
   */
  abandonDatabase(): void
  /** Aborted by `abandonDatabase()`: the request's sessions listen to it. */
  readonly databaseSignal: AbortSignal
  /**
   * A check that a dependency answered ahead of (from what is kept, at the stale budget): an
   * answer other than a stale one waits for it, and is replaced by its error if it fails.
   */
  confirmLater(check: Promise<unknown>): void
  /** Waits for the checks of `confirmLater`; the first that failed, or undefined. */
  confirmations(): Promise<unknown>
  /**
   * Whether the instance degraded an answer lately (a stale one, a 503) for whatever reason:
   * what `/health` reports.
   */
  readonly degradedLately: boolean
}

declare const OUTPUT: unique symbol

/**
 * How a dependency reads the caller's credentials, for the OpenAPI document (FastAPI's
 * security dependencies, such as `OAuth2PasswordBearer`): a route that needs it, directly or
 * through others, lists `name` in its `security`, and the document holds `scheme` under
 * `components.securitySchemes`.
 */
export interface SecurityScheme {
  readonly name: string
  readonly scheme: Readonly<Record<string, unknown>>
}

export interface Dependency<T> {
  readonly kind: 'dependency'
  readonly name: string
  readonly lifespans: readonly Lifespan<unknown>[]
  readonly security?: SecurityScheme | undefined
  dependencies(): DependencyMap
  run(values: Record<string, unknown>, scope: RequestScope): unknown
  /** Carries the value type for inference; never set. */
  readonly [OUTPUT]?: T
}

/** A use of a dependency that bypasses the per-request cache (FastAPI's `use_cache=False`). */
export interface FreshUse<T> {
  readonly kind: 'fresh'
  readonly dependency: Dependency<T>
}

export type DependencyMap = Readonly<Record<string, Dependency<unknown> | FreshUse<unknown>>>

export type Resolved<D extends DependencyMap> = {
  readonly [K in keyof D]: D[K] extends Dependency<infer T> ? T : D[K] extends FreshUse<infer T> ? T : never
}

export interface DependsOptions<D extends DependencyMap> {
  readonly name: string
  /** The dependencies it needs; a function allows forward references. */
  readonly dependencies?: D | (() => D)
  /** Lifespans whose state it reads; the app starts them. */
  readonly lifespans?: readonly Lifespan<unknown>[]
  /** The credentials it reads, as the OpenAPI document describes them. */
  readonly security?: SecurityScheme
}

type NoDependencies = Record<never, never>

export function depends<T, const D extends DependencyMap = NoDependencies>(
  options: DependsOptions<D>,
  run: (values: Resolved<D>, scope: RequestScope) => AsyncGenerator<T, void, undefined>,
): Dependency<T>
export function depends<T, const D extends DependencyMap = NoDependencies>(
  options: DependsOptions<D>,
  run: (values: Resolved<D>, scope: RequestScope) => T | Promise<T>,
): Dependency<T>
export function depends<T, const D extends DependencyMap>(
  options: DependsOptions<D>,
  run: (values: Resolved<D>, scope: RequestScope) => unknown,
): Dependency<T> {
  const declared = options.dependencies
  return {
    kind: 'dependency',
    name: options.name,
    lifespans: options.lifespans ?? [],
    security: options.security,
    dependencies: typeof declared === 'function' ? declared : () => declared ?? {},
    run: run as Dependency<T>['run'],
  }
}

export function fresh<T>(dependency: Dependency<T>): FreshUse<T> {
  return { kind: 'fresh', dependency }
}

function unwrap(use: Dependency<unknown> | FreshUse<unknown>): { dependency: Dependency<unknown>; useCache: boolean } {
  return use.kind === 'fresh' ? { dependency: use.dependency, useCache: false } : { dependency: use, useCache: true }
}

export type Overrides = ReadonlyMap<Dependency<unknown>, Dependency<unknown>>

export class DependencyCycleError extends Error {
  override name = 'DependencyCycleError'
}

/**
 * Walks the graph below `roots` (with overrides applied), throwing on a cycle, and returns
 * every dependency reached and every lifespan they need.
 */
export function analyze(
  roots: DependencyMap,
  overrides: Overrides = new Map(),
): { dependencies: Set<Dependency<unknown>>; lifespans: Set<Lifespan<unknown>> } {
  const done = new Set<Dependency<unknown>>()
  const lifespans = new Set<Lifespan<unknown>>()
  const visit = (dependency: Dependency<unknown>, path: readonly Dependency<unknown>[]): void => {
    const actual = overrides.get(dependency) ?? dependency
    if (path.includes(actual)) {
      const cycle = [...path.slice(path.indexOf(actual)), actual].map((item) => item.name).join(' -> ')
      throw new DependencyCycleError(`dependency cycle: ${cycle}`)
    }
    if (done.has(actual)) return
    for (const use of Object.values(actual.dependencies())) visit(unwrap(use).dependency, [...path, actual])
    for (const item of actual.lifespans) lifespans.add(item)
    done.add(actual)
  }
  for (const use of Object.values(roots)) visit(unwrap(use).dependency, [])
  return { dependencies: done, lifespans }
}

function isAsyncGenerator(value: unknown): value is AsyncGenerator<unknown, void, undefined> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AsyncGenerator)[Symbol.asyncIterator] === 'function' &&
    typeof (value as AsyncGenerator).next === 'function'
  )
}

interface Teardown {
  readonly name: string
  readonly generator: AsyncGenerator<unknown, void, undefined>
}

/** Solves dependencies for one request, and tears them down after it. */
export class DependencySolver {
  readonly #scope: RequestScope
  readonly #overrides: Overrides
  readonly #cache = new Map<Dependency<unknown>, Promise<unknown>>()
  readonly #teardowns: Teardown[] = []

  constructor(scope: RequestScope, overrides: Overrides) {
    this.#scope = scope
    this.#overrides = overrides
  }

  async resolveAll(map: DependencyMap): Promise<Record<string, unknown>> {
    const values: Record<string, unknown> = {}
    // One after another, as FastAPI does: a later dependency may rely on an earlier one's effects.
    for (const [key, use] of Object.entries(map)) values[key] = await this.#resolve(use)
    return values
  }

  #resolve(use: Dependency<unknown> | FreshUse<unknown>): Promise<unknown> {
    const { dependency, useCache } = unwrap(use)
    const actual = this.#overrides.get(dependency) ?? dependency
    if (!useCache) return this.#run(actual)
    let value = this.#cache.get(actual)
    if (value === undefined) {
      value = this.#run(actual)
      this.#cache.set(actual, value)
    }
    return value
  }

  async #run(dependency: Dependency<unknown>): Promise<unknown> {
    const values = await this.resolveAll(dependency.dependencies())
    const result = dependency.run(values, this.#scope)
    if (!isAsyncGenerator(result)) return result
    const step = await result.next()
    if (step.done) throw new Error(`dependency "${dependency.name}" returned without yielding a value`)
    this.#teardowns.push({ name: dependency.name, generator: result })
    return step.value
  }

  get hasTeardowns(): boolean {
    return this.#teardowns.length > 0
  }

  /** Runs teardowns in reverse order of setup; `error` is what the handler threw, if anything. */
  async teardown(error?: unknown): Promise<void> {
    for (let next = this.#teardowns.pop(); next !== undefined; next = this.#teardowns.pop()) {
      const { name, generator } = next
      try {
        // Resume after the `yield`, as Python resumes a generator dependency: the code after
        // it runs, not only its `finally`.
        const step = error === undefined ? await generator.next() : await generator.throw(error)
        if (!step.done) {
          await generator.return(undefined)
          throw new Error(`dependency "${name}" yielded more than once`)
        }
      } catch (thrown) {
        // The handler's own error coming back out is expected; anything else is a teardown failure.
        if (thrown !== error) log('error', 'dependency teardown failed', { request_id: this.#scope.requestId, dependency: name, error: thrown })
      }
    }
  }
}
