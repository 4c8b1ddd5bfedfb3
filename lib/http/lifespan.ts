/**
 * FastAPI's lifespan, per instance: an async generator that sets up what the instance keeps
 * (a pool), yields it as its state, and tears it down after the `yield` when the instance
 * stops. A lifespan is also the typed key of its state: `scope.state(database).pool`.
 */
import type { Env } from '../config.ts'
import { log } from '../log.ts'
import type { SharedStore } from './stale-cache.ts'

export interface LifespanContext {
  /** The environment the app was given (process.env on Lambda). */
  readonly env: Env
  /** The tier the instances share (Redis), when the function connects to one. */
  readonly shared?: SharedStore | undefined
}

export interface Lifespan<S> {
  readonly name: string
  readonly run: (context: LifespanContext) => AsyncGenerator<S, void, undefined>
  /** The SST secrets it reads (lib/config.ts): a function is linked to those of its lifespans. */
  readonly secrets: readonly string[]
}

export function lifespan<S>(
  name: string,
  run: (context: LifespanContext) => AsyncGenerator<S, void, undefined>,
  options: { readonly secrets?: readonly string[] } = {},
): Lifespan<S> {
  return { name, run, secrets: options.secrets ?? [] }
}

export class LifespanError extends Error {
  override name = 'LifespanError'
}

interface Running {
  readonly lifespan: Lifespan<unknown>
  readonly generator: AsyncGenerator<unknown, void, undefined>
}

/** Starts lifespans in order, stops them in reverse, and hands out their states. */
export class LifespanRunner {
  readonly #states = new Map<Lifespan<unknown>, unknown>()
  readonly #running: Running[] = []

  async startup(lifespans: Iterable<Lifespan<unknown>>, context: LifespanContext): Promise<void> {
    for (const item of lifespans) {
      if (this.#states.has(item)) continue
      const generator = item.run(context)
      let step: IteratorResult<unknown, void>
      try {
        step = await generator.next()
      } catch (error) {
        // Undo what already started, then fail the instance once, loudly.
        await this.shutdown()
        throw new LifespanError(`lifespan "${item.name}" failed to start: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
      }
      if (step.done) {
        await this.shutdown()
        throw new LifespanError(`lifespan "${item.name}" returned without yielding its state`)
      }
      this.#states.set(item, step.value)
      this.#running.push({ lifespan: item, generator })
    }
  }

  async shutdown(): Promise<void> {
    for (let next = this.#running.pop(); next !== undefined; next = this.#running.pop()) {
      const { lifespan: item, generator } = next
      this.#states.delete(item)
      try {
        // Resume after the `yield`, so the shutdown code runs (not only a `finally`).
        const step = await generator.next()
        if (!step.done) await generator.return(undefined)
      } catch (error) {
        log('error', 'lifespan shutdown failed', { lifespan: item.name, error })
      }
    }
  }

  state<S>(item: Lifespan<S>): S {
    if (!this.#states.has(item)) throw new LifespanError(`lifespan "${item.name}" is not running in this app`)
    // The map is keyed by the lifespan whose generator yielded this value.
    return this.#states.get(item) as S
  }
}
