/**
 * What a load run found, from its samples: counts, latency percentiles split between cold
 * starts and warm answers, inits, stale answers, peak database connections, and the checks
 * that every run must pass (no 500, every 503 says when to come back, nothing hung, no more
 * connections than instances × pool size). Written as a table on the terminal, a JSON file,
 * and an HTML page with the latency of every request over time (Chart.js, inlined so that the
 * page works offline).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import Table from 'cli-table3'
import type { ConnectionSample } from './connections.ts'
import type { Failure, Sample } from './drive.ts'
import type { Fault, Phase, Scenario } from './options.ts'

export interface Spread {
  readonly count: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
}

export interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

export interface LoadReport {
  readonly scenario: Scenario
  readonly target: string
  readonly phases: readonly Phase[]
  readonly startedAt: string
  readonly seconds: number
  readonly requests: number
  /** Answers by status code. */
  readonly statuses: Record<string, number>
  readonly failures: { readonly count: number; readonly reasons: Record<string, number> }
  /** Requests in flight when their phase ended: sent, neither answered nor timed out. */
  readonly cutOff: number
  readonly coldStarts: number
  /** Inits of the instances that answered cold, as they told them. */
  readonly initMs: Spread
  readonly latencyMs: { readonly all: Spread; readonly cold: Spread; readonly warm: Spread }
  readonly stale: number
  readonly unavailable: { readonly withRetryAfter: number; readonly withoutRetryAfter: number }
  readonly connections:
    | { readonly source: string; readonly peak: number; readonly samples: number; readonly poolMax: number | undefined; readonly bound: number | undefined }
    | undefined
  readonly fault: (Fault & { readonly untilSeconds: number; readonly figures: FaultFigures }) | undefined
  readonly checks: readonly Check[]
}

/** What the requests sent while the database was cut off got, and how soon answers were fresh after. */
export interface FaultFigures {
  /** Requests sent from the cut to the return, by what they got. */
  readonly during: { readonly requests: number; readonly fresh: number; readonly stale: number; readonly unavailable: number; readonly other: number; readonly latencyMs: Spread }
  /**
   * How long after the database returned the last request that was not answered fresh was
   * sent (0: none was); every one sent later was fresh. Undefined when none sent after it was.
   */
  readonly freshAgainMs: number | undefined
}

export interface ReportInput {
  readonly scenario: Scenario
  readonly target: string
  readonly phases: readonly Phase[]
  readonly startedAt: Date
  readonly seconds: number
  readonly samples: readonly Sample[]
  readonly failures: readonly Failure[]
  readonly cutOff: number
  /** A request unanswered this long failed (a timeout). */
  readonly timeoutSeconds: number
  readonly connections: { readonly source: string; readonly samples: readonly ConnectionSample[] } | undefined
  /** Each instance's pool size, when known (the local emulator). */
  readonly poolMax: number | undefined
  readonly fault: Fault | undefined
}

const round = (value: number) => Math.round(value * 10) / 10

/** Nearest-rank percentiles. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0 }
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p: number) => round(sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number)
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(sorted.at(-1) as number) }
}

const isFresh = (sample: Sample) => sample.status === 200 && !sample.stale

export function faultFigures(samples: readonly Sample[], fault: Fault): FaultFigures {
  const from = fault.atSeconds * 1000
  const until = (fault.atSeconds + fault.forSeconds) * 1000
  const during = samples.filter((sample) => sample.at >= from && sample.at < until)
  const fresh = during.filter(isFresh).length
  const stale = during.filter((sample) => sample.status === 200 && sample.stale).length
  const unavailable = during.filter((sample) => sample.status === 503 && sample.retryAfter).length
  const after = samples.filter((sample) => sample.at >= until).sort((a, b) => a.at - b.at)
  const last = after.findLastIndex((sample) => !isFresh(sample))
  const freshAgainMs = last === -1 ? (after.length > 0 ? 0 : undefined) : last === after.length - 1 ? undefined : round((after[last] as Sample).at - until)
  return {
    during: { requests: during.length, fresh, stale, unavailable, other: during.length - fresh - stale - unavailable, latencyMs: spread(during.map((sample) => sample.ms)) },
    freshAgainMs,
  }
}

export function summarize(input: ReportInput): LoadReport {
  const { samples } = input
  const statuses: Record<string, number> = {}
  for (const sample of samples) statuses[sample.status] = (statuses[sample.status] ?? 0) + 1
  const reasons: Record<string, number> = {}
  for (const failure of input.failures) reasons[failure.reason] = (reasons[failure.reason] ?? 0) + 1
  const cold = samples.filter((sample) => sample.cold)
  const unavailable = samples.filter((sample) => sample.status === 503)
  const withRetryAfter = unavailable.filter((sample) => sample.retryAfter).length
  const serverErrors = samples.filter((sample) => sample.status >= 500 && sample.status !== 503).length
  // A 4xx means the load itself is wrong (a bad token, a wrong URL), but for Lambda's throttling.
  const clientErrors = Object.entries(statuses).filter(([status]) => status.startsWith('4') && status !== '429')

  let connections: LoadReport['connections']
  if (input.connections !== undefined) {
    // A loop, not Math.max(...): an hour of samples is more arguments than a call takes.
    const peak = input.connections.samples.reduce((max, sample) => Math.max(max, sample.count), 0)
    const bound = input.poolMax === undefined ? undefined : cold.length * input.poolMax
    connections = { source: input.connections.source, peak, samples: input.connections.samples.length, poolMax: input.poolMax, bound }
  }

  const checks: Check[] = [
    { name: 'no 500', ok: serverErrors === 0, detail: serverErrors === 0 ? 'no 5xx but 503' : `${serverErrors} answers 5xx other than 503` },
    {
      name: 'every 503 says Retry-After',
      ok: withRetryAfter === unavailable.length,
      detail: `${withRetryAfter} of ${unavailable.length}`,
    },
    {
      name: 'no 4xx but 429',
      ok: clientErrors.length === 0,
      detail: clientErrors.length === 0 ? 'the load was accepted' : `${clientErrors.map(([status, count]) => `${status}: ${count}`).join(', ')} (a 401 is a bad or expired token, a 404 a wrong URL or path)`,
    },
    {
      name: 'nothing hung',
      ok: input.failures.length === 0,
      detail:
        (input.failures.length === 0 ? `no request went unanswered for ${input.timeoutSeconds} s` : `${input.failures.length} requests unanswered (${Object.keys(reasons).join('; ')})`) +
        (input.cutOff > 0 ? `; ${input.cutOff} in flight when their phase ended` : ''),
    },
  ]
  if (connections?.bound !== undefined) {
    checks.push({
      name: 'connections within instances × pool size',
      ok: connections.peak <= connections.bound,
      detail: `peak ${connections.peak} ≤ ${cold.length} instances × ${connections.poolMax} = ${connections.bound}`,
    })
  }

  return {
    scenario: input.scenario,
    target: input.target,
    phases: input.phases,
    startedAt: input.startedAt.toISOString(),
    seconds: round(input.seconds),
    requests: samples.length,
    statuses,
    failures: { count: input.failures.length, reasons },
    cutOff: input.cutOff,
    coldStarts: cold.length,
    initMs: spread(cold.flatMap((sample) => (sample.initMs === undefined ? [] : [sample.initMs]))),
    latencyMs: {
      all: spread(samples.map((sample) => sample.ms)),
      cold: spread(cold.map((sample) => sample.ms)),
      warm: spread(samples.filter((sample) => !sample.cold).map((sample) => sample.ms)),
    },
    stale: samples.filter((sample) => sample.stale).length,
    unavailable: { withRetryAfter, withoutRetryAfter: unavailable.length - withRetryAfter },
    connections,
    fault: input.fault === undefined ? undefined : { ...input.fault, untilSeconds: input.fault.atSeconds + input.fault.forSeconds, figures: faultFigures(samples, input.fault) },
    checks,
  }
}

export function passed(report: LoadReport): boolean {
  return report.checks.every((check) => check.ok)
}

/** The report as the terminal shows it. */
export function formatReport(report: LoadReport): string {
  const latency = new Table({ head: ['ms', 'count', 'p50', 'p95', 'p99', 'max'], style: { head: [], border: [] } })
  const row = (name: string, value: Spread) => latency.push([name, value.count, value.p50, value.p95, value.p99, value.max])
  row('all', report.latencyMs.all)
  row('cold', report.latencyMs.cold)
  row('warm', report.latencyMs.warm)
  row('init', report.initMs)

  const counts = new Table({ style: { head: [], border: [] } })
  const statuses = Object.entries(report.statuses)
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ')
  counts.push(
    { requests: [`${report.requests} in ${report.seconds} s (${statuses || 'no answers'})`] },
    { 'cold starts': [String(report.coldStarts)] },
    { 'stale answers': [String(report.stale)] },
    { '503': [`${report.unavailable.withRetryAfter} with Retry-After, ${report.unavailable.withoutRetryAfter} without`] },
    { unanswered: [`${report.failures.count}${report.cutOff > 0 ? ` (and ${report.cutOff} in flight when their phase ended)` : ''}`] },
    {
      'peak connections': [
        report.connections === undefined
          ? 'not sampled'
          : `${report.connections.peak}${report.connections.bound === undefined ? '' : ` (at most ${report.connections.bound}: ${report.coldStarts} instances × ${report.connections.poolMax})`}, ${report.connections.source}`,
      ],
    },
  )
  if (report.fault) {
    const { mode, atSeconds, untilSeconds, figures } = report.fault
    const { during, freshAgainMs } = figures
    counts.push(
      { fault: [`database ${mode} from ${atSeconds} s to ${untilSeconds} s`] },
      {
        'during the fault': [
          `${during.requests} sent: ${during.fresh} fresh, ${during.stale} stale, ${during.unavailable} × 503 with Retry-After, ${during.other} other; p99 ${during.latencyMs.p99} ms, max ${during.latencyMs.max} ms`,
        ],
      },
      { 'fresh again': [freshAgainMs === undefined ? 'not by the end of the run' : freshAgainMs === 0 ? 'at once: every request sent after the return was answered fresh' : `${freshAgainMs} ms after the return: every request sent later was answered fresh`] },
    )
  }

  const checks = report.checks.map((check) => `  ${check.ok ? 'ok  ' : 'FAIL'}  ${check.name}: ${check.detail}`)
  return [`load: ${report.scenario} (${report.phases.map((phase) => phase.label).join(', ')}) against ${report.target}`, counts.toString(), latency.toString(), ...checks].join('\n')
}

/** Samples as the JSON report keeps them: one array per request, named by `columns`. */
export function sampleTable(samples: readonly Sample[]) {
  return {
    columns: ['at_ms', 'latency_ms', 'status', 'path', 'cold', 'init_ms', 'stale', 'retry_after'],
    rows: samples.map((sample) => [round(sample.at), round(sample.ms), sample.status, sample.path, sample.cold, sample.initMs ?? null, sample.stale, sample.retryAfter]),
  }
}

export function reportJson(report: LoadReport, samples: readonly Sample[], connections: readonly ConnectionSample[]): string {
  return `${JSON.stringify({ report, samples: sampleTable(samples), connections: connections.map((sample) => [round(sample.at), sample.count]) }, null, 1)}\n`
}

/** Warm answers drawn at most; cold starts, stale answers and errors are always all drawn. */
const MAX_WARM_POINTS = 20_000

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string)
}

export function reportHtml(report: LoadReport, samples: readonly Sample[], connections: readonly ConnectionSample[]): string {
  // Drawn when answered: a burst sent at once spreads out as its answers come.
  const point = (sample: Sample) => ({ x: round((sample.at + sample.ms) / 1000), y: Math.max(0.1, round(sample.ms)) })
  const warmOk = samples.filter((sample) => !sample.cold && !sample.stale && sample.status < 500)
  const every = Math.max(1, Math.ceil(warmOk.length / MAX_WARM_POINTS))
  const series = {
    warm: warmOk.filter((_, i) => i % every === 0).map(point),
    stale: samples.filter((sample) => !sample.cold && sample.stale).map(point),
    cold: samples.filter((sample) => sample.cold).map(point),
    unavailable: samples.filter((sample) => !sample.cold && sample.status === 503).map(point),
    errors: samples.filter((sample) => !sample.cold && sample.status >= 500 && sample.status !== 503).map(point),
    connections: connections.map((sample) => ({ x: round(sample.at / 1000), y: sample.count })),
  }
  const data = JSON.stringify({ series, fault: report.fault ?? null, warmEvery: every }).replace(/</g, '\\u003c')
  // The UMD build sits beside the CommonJS entry, which is what the package exports.
  const umd = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js')
  const chartJs = readFileSync(umd, 'utf8').replace(/<\/script/gi, '<\\/script')
  const rows = formatReport(report)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Load report: ${escapeHtml(report.scenario)}</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
  pre { font: 12px ui-monospace, monospace; background: #f6f6f6; padding: 12px; overflow-x: auto; }
  .chart { position: relative; height: 520px; }
  .fail { color: #b00020; font-weight: bold; }
</style>
</head>
<body>
<h1>Load report: ${escapeHtml(report.scenario)}</h1>
<p>${escapeHtml(report.target)}, started ${escapeHtml(report.startedAt)}${report.checks.every((check) => check.ok) ? '' : ' — <span class="fail">checks failed</span>'}</p>
<div class="chart"><canvas id="latency" aria-label="latency of every request over time"></canvas></div>
<p>Each point is a request, at the time it was answered. Triangles are cold starts (an instance's first answer), orange points were served stale, purple crosses are 503s, black ones other errors; the line is database connections (right axis)${
    report.fault ? '; the shaded band is the database fault' : ''
  }${every > 1 ? `. Warm answers: one in ${every} drawn` : ''}.</p>
<pre>${escapeHtml(rows)}</pre>
<script>${chartJs}</script>
<script>
const data = ${data};
const faultBand = {
  id: 'faultBand',
  beforeDatasetsDraw(chart) {
    if (!data.fault) return;
    const { ctx, chartArea, scales } = chart;
    const left = scales.x.getPixelForValue(data.fault.atSeconds), right = scales.x.getPixelForValue(data.fault.untilSeconds);
    ctx.save();
    ctx.fillStyle = 'rgba(176, 0, 32, 0.08)';
    ctx.fillRect(left, chartArea.top, right - left, chartArea.bottom - chartArea.top);
    ctx.restore();
  },
};
const scatter = (label, points, color, style, radius) => ({ type: 'scatter', label, data: points, backgroundColor: color, borderColor: color, pointStyle: style, pointRadius: radius, yAxisID: 'y' });
window.latencyChart = new Chart(document.getElementById('latency'), {
  data: {
    datasets: [
      scatter('warm', data.series.warm, 'rgba(90, 90, 90, 0.35)', 'circle', 1.5),
      scatter('stale', data.series.stale, 'rgba(230, 130, 0, 0.8)', 'circle', 2.5),
      scatter('cold start', data.series.cold, 'rgba(200, 0, 40, 0.9)', 'triangle', 6),
      scatter('503', data.series.unavailable, 'rgba(120, 40, 170, 0.9)', 'crossRot', 5),
      scatter('other error', data.series.errors, 'rgba(0, 0, 0, 1)', 'crossRot', 6),
      { type: 'line', label: 'database connections', data: data.series.connections, borderColor: 'rgba(0, 110, 200, 0.8)', borderWidth: 1.5, pointRadius: 0, stepped: true, yAxisID: 'connections' },
    ],
  },
  options: {
    animation: false,
    maintainAspectRatio: false,
    parsing: false,
    scales: {
      x: { type: 'linear', title: { display: true, text: 'seconds since start' } },
      y: { type: 'logarithmic', title: { display: true, text: 'latency (ms)' } },
      connections: { type: 'linear', position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'database connections' } },
    },
    plugins: { legend: { position: 'top' } },
  },
  plugins: [faultBand],
});
</script>
</body>
</html>
`
}
