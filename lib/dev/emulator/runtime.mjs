// One Lambda instance of the local emulator (lib/dev/emulator/emulator.ts), in a process of its
// own: it loads a built function bundle (its init phase), then takes one invocation at a time
// over IPC with a context whose getRemainingTimeInMillis() counts down to the deadline the
// emulator set. Plain JavaScript so that no loader adds to the init the emulator measures.
import { performance } from 'node:perf_hooks'
import process from 'node:process'
import { pathToFileURL } from 'node:url'

const [bundle, functionName, memoryMb] = process.argv.slice(2)
let handler
try {
  ;({ handler } = await import(pathToFileURL(bundle).href))
  if (typeof handler !== 'function') throw new Error(`${bundle} exports no handler`)
} catch (error) {
  process.send({ type: 'init-error', error: { errorType: error?.name ?? 'Error', errorMessage: String(error?.message ?? error) } })
  process.exit(1)
}
process.send({ type: 'ready' })

let peakRss = process.memoryUsage.rss()
process.on('message', async (message) => {
  if (message.type !== 'invoke') return
  const { id, event, deadline, requestId } = message
  const context = {
    awsRequestId: requestId,
    functionName,
    functionVersion: '$LATEST',
    memoryLimitInMB: memoryMb,
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${process.pid}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  }
  const started = performance.now()
  try {
    const result = await handler(event, context)
    peakRss = Math.max(peakRss, process.memoryUsage.rss())
    process.send({ type: 'result', id, result, durationMs: performance.now() - started, maxRssBytes: peakRss })
  } catch (error) {
    peakRss = Math.max(peakRss, process.memoryUsage.rss())
    process.send({ type: 'error', id, error: { errorType: error?.name ?? 'Error', errorMessage: String(error?.message ?? error) }, durationMs: performance.now() - started, maxRssBytes: peakRss })
  }
})
