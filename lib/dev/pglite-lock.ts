/**
 * PGlite is Postgres in one process: two processes opening the same data folder would
 * corrupt it, and PGlite does not stop them. A lock file beside the folder does.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { ConfigError } from '../config.ts'

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Takes the lock for `dataDir`, or throws naming the process that holds it. */
export function lockDataDir(dataDir: string): () => void {
  const file = `${dataDir.replace(/\/+$/, '')}.lock`
  mkdirSync(dirname(file), { recursive: true })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return function unlockDataDir() {
        rmSync(file, { force: true })
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = Number(readFileSync(file, 'utf8'))
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
        throw new ConfigError('PGLITE_DATA_DIR', `${dataDir} is in use by another process (pid ${holder}); stop it first`)
      }
      rmSync(file, { force: true }) // left by a process that no longer runs
    }
  }
  throw new ConfigError('PGLITE_DATA_DIR', `could not lock ${dataDir}`)
}
