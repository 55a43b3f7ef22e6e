// One Lambda execution environment: a worker thread with its own process.env, the function's bundled module loaded
// once (a warm container), one invocation at a time. Started by lambda-runtime.ts.
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

process.setSourceMapsEnabled?.(true);
const { modulePath, exportName, functionName, functionArn, memoryMb, timeoutSeconds, logGroupName, nice } = workerData;
// a batch job's worker yields the CPU to the others (lambda-runtime.ts `background`): on Linux a thread's nice value
// is set through its thread id (/proc/thread-self → <pid>/task/<tid>); where that is missing nothing changes
// (never raised above what the platform already runs at: a niced platform keeps its jobs at least as low)
if (nice) {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, Math.max(nice, getPriority(tid)));
  } catch {}
}
let handlerPromise;

function loadHandler() {
  handlerPromise ??= import(pathToFileURL(modulePath).href).then((mod) => {
    const fn = mod[exportName] ?? mod.default?.[exportName];
    if (typeof fn !== 'function') throw new Error(`${modulePath} does not export a function "${exportName}"`);
    return fn;
  });
  return handlerPromise;
}

parentPort.on('message', async ({ id, requestId, event, deadline }) => {
  const context = {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: requestId,
    logGroupName,
    logStreamName: `local/${process.pid}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    timeoutSeconds,
  };
  try {
    const handler = await loadHandler();
    const value = await handler(event, context);
    parentPort.postMessage({ id, ok: true, value: value === undefined ? null : value });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    parentPort.postMessage({
      id,
      ok: false,
      error: { errorType: e.name || 'Error', errorMessage: e.message, stack: (e.stack ?? '').split('\n') },
    });
  }
});
