/**
 * Background tasks, as FastAPI's: queued by a handler or a dependency, run one after another
 * once the response exists. A task that fails is logged and the others still run; the
 * response has been decided and does not change.
 */
import { log } from '../log.ts'

type Task = () => unknown

export class BackgroundTasks {
  readonly #tasks: { name: string; task: Task }[] = []

  add(name: string, task: Task): void {
    this.#tasks.push({ name, task })
  }

  get size(): number {
    return this.#tasks.length
  }

  async run(requestId: string): Promise<void> {
    for (const { name, task } of this.#tasks.splice(0)) {
      try {
        await task()
      } catch (error) {
        log('error', 'background task failed', { request_id: requestId, task: name, error })
      }
    }
  }
}
