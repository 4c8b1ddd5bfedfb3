/**
 * `npm run load -- <scenario>`: load against the functions as Lambda runs them, locally in the
 * emulator (the default) or at a deployed URL, with a progress line while it runs and a report
 * at the end: a table here, report.json and report.html (latency over time, cold starts
 * marked) in the output folder. Exits 1 when a check of the report fails, 130 when stopped
 * before the load began. `--help` lists the scenarios and options.
 */
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fail } from './cli.ts'
import { sampleConnections, type ConnectionCounter, type ConnectionSample } from './load/connections.ts'
import { drive, type Recording } from './load/drive.ts'
import { startLocalTarget } from './load/local.ts'
import { parseLoadOptions, USAGE, type Fault, type LoadOptions } from './load/options.ts'
import { startRemoteTarget } from './load/remote.ts'
import { formatReport, passed, reportHtml, reportJson, summarize } from './load/report.ts'

/** What the load is sent to: the local emulator, or a deployed URL. */
interface Target {
  readonly url: string
  readonly description: string
  readonly headers: Record<string, string>
  readonly paths: readonly string[]
  readonly connections: ConnectionCounter | undefined
  /** Only the local target can cut its database off. */
  readonly setFault?: (mode: Fault['mode'] | 'forward') => void
  close(): Promise<void>
}

function progressLine(elapsedMs: number, recording: Recording, connections: readonly ConnectionSample[]): string {
  let ok = 0
  let unavailable = 0
  let other = 0
  let stale = 0
  let cold = 0
  for (const sample of recording.samples) {
    if (sample.status < 400) ok++
    else if (sample.status === 503) unavailable++
    else other++
    if (sample.stale) stale++
    if (sample.cold) cold++
  }
  const now = connections.at(-1)?.count
  const peak = connections.reduce((max, sample) => Math.max(max, sample.count), 0)
  return `${(elapsedMs / 1000).toFixed(1).padStart(6)}s  ${recording.phase.padEnd(12)} answers ${recording.samples.length} (ok ${ok}, 503 ${unavailable}, other ${other})  stale ${stale}  cold ${cold}  unanswered ${recording.failures.length}${
    now === undefined ? '' : `  db connections ${now} (peak ${peak})`
  }`
}

/** The exit code: 0 when every check passed, 1 when one failed, 130 when stopped before the load. */
async function run(options: LoadOptions): Promise<number> {
  const out = options.out ?? join('.data', 'load', `${options.scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  mkdirSync(out, { recursive: true })
  const functionsLog = createWriteStream(join(out, 'functions.log'))
  const say = (line: string) => console.log(line)

  // Ctrl-C stops the load and still writes the report; during setup, it stops once setup is
  // done, so that nothing it made (instances, the limited role) is left behind. npm and tsx
  // pass the signal on as well, so the same Ctrl-C can come twice: only one a second or more
  // after the first forces the exit.
  let stopped: number | undefined
  const onSignal = () => {
    if (stopped !== undefined && performance.now() - stopped > 1_000) process.exit(130)
    if (stopped !== undefined) return
    stopped = performance.now()
    console.log('\nstopping: the report covers what ran (Ctrl-C again to force)')
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  const target: Target =
    options.url === undefined
      ? await startLocalTarget({
          env: process.env,
          poolMax: options.poolMax,
          concurrency: options.concurrency,
          connectionLimit: options.connectionLimit,
          functionSettings: options.functionSettings,
          functionTimeoutSeconds: options.functionTimeoutSeconds,
          log: (line) => functionsLog.write(`${line}\n`),
          say,
        })
      : await startRemoteTarget(options, say)

  try {
    if (stopped !== undefined) {
      console.log('stopped before the load began: no report')
      return 130
    }
    const recording: Recording = { samples: [], failures: [], cutOff: 0, phase: '' }
    const connectionSamples: ConnectionSample[] = []
    const startedAt = performance.now()
    const startDate = new Date()
    const stopSampling = target.connections === undefined ? async () => undefined : sampleConnections({ counter: target.connections, samples: connectionSamples, startedAt })
    const timers: ReturnType<typeof setTimeout>[] = []
    const setFault = target.setFault
    if (options.fault !== undefined && setFault !== undefined) {
      const { mode, atSeconds, forSeconds } = options.fault
      timers.push(setTimeout(() => setFault(mode), atSeconds * 1000))
      timers.push(setTimeout(() => setFault('forward'), (atSeconds + forSeconds) * 1000))
    }
    const tty = process.stdout.isTTY === true
    const progress = setInterval(
      () => {
        const line = progressLine(performance.now() - startedAt, recording, connectionSamples)
        if (tty) process.stdout.write(`\r\x1b[2K${line}`)
        else console.log(line)
      },
      tty ? 250 : 2_000,
    )
    try {
      await drive({
        url: target.url,
        headers: target.headers,
        paths: options.paths ?? target.paths,
        phases: options.phases,
        timeoutSeconds: options.timeoutSeconds,
        startedAt,
        recording,
        stopped: () => stopped !== undefined,
      })
    } finally {
      clearInterval(progress)
      for (const timer of timers) clearTimeout(timer)
      await stopSampling()
    }
    const seconds = (performance.now() - startedAt) / 1000
    if (tty) process.stdout.write('\n')

    const report = summarize({
      scenario: options.scenario,
      target: target.description,
      phases: options.phases,
      startedAt: startDate,
      seconds,
      samples: recording.samples,
      failures: recording.failures,
      cutOff: recording.cutOff,
      timeoutSeconds: options.timeoutSeconds,
      connections: target.connections === undefined ? undefined : { source: target.connections.source, samples: connectionSamples },
      poolMax: options.url === undefined ? options.poolMax : undefined,
      fault: options.fault,
    })
    writeFileSync(join(out, 'report.json'), reportJson(report, recording.samples, connectionSamples))
    writeFileSync(join(out, 'report.html'), reportHtml(report, recording.samples, connectionSamples))
    console.log(formatReport(report))
    console.log(`report    ${join(out, 'report.json')}\n          ${join(out, 'report.html')}${options.url === undefined ? `\n          ${join(out, 'functions.log')} (the functions' output: REPORT lines, request lines)` : ''}`)
    return passed(report) ? 0 : 1
  } finally {
    await target.close()
    await new Promise((resolve) => functionsLog.end(resolve))
  }
}

try {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE)
  } else {
    process.exit(await run(parseLoadOptions(argv, process.env)))
  }
} catch (error) {
  fail(error)
}
