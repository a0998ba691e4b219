/**
 * The worker entry (built to `dist/parallel/worker.js`): runs the slices it is sent with its own
 * persistent scratch, and reports each completion through the shared control array. The same
 * file serves Node `worker_threads` and browser module workers.
 */
import { Scratch } from '../kernels/scratch.js';
import { CLAIMED, doneIndex, offerIndex, PROGRESS, statusIndex, STATUS_ERROR, STATUS_OK, type FaultKind, type FromWorker, type ToWorker } from './messages.js';
import { isNode } from './platform.js';
import { runPoolTask } from './task.js';
import { WasmRuntime } from '../wasm/runtime.js';
import { followProgram, type WorkerProgram } from './schedule.js';

interface Port {
  post(message: FromWorker): void;
  listen(handler: (message: ToWorker) => void): void;
  /** Ends this thread abruptly (fault injection only). */
  exit(): void;
}

async function connect(): Promise<Port> {
  if (isNode()) {
    const specifier = 'node:worker_threads';
    const { parentPort } = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as typeof import('node:worker_threads');
    if (parentPort === null) throw new Error('sepconv worker: not running inside a worker thread');
    return {
      post: (message) => parentPort.postMessage(message),
      listen: (handler) => parentPort.on('message', handler),
      exit: () => (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(3),
    };
  }
  const scope = globalThis as unknown as {
    postMessage(message: unknown): void;
    addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void;
    close(): void;
  };
  return {
    post: (message) => scope.postMessage(message),
    listen: (handler) => scope.addEventListener('message', (event) => handler(event.data)),
    exit: () => scope.close(),
  };
}

const port = await connect();
const scratch = new Scratch();
let control: Int32Array | null = null;
let index = 0;
let notifyByMessage = false;
let pendingFault: FaultKind | null = null;
let runtime: WasmRuntime | null = null;
/** Compiled models' schedules this worker has been sent, by id. */
const programs = new Map<number, WorkerProgram>();

function injectedFault(): void {
  const kind = pendingFault;
  pendingFault = null;
  if (kind === 'throw') throw new RangeError('injected kernel fault (test hook)');
  if (kind === 'exit') port.exit();
  if (kind === 'stall') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000);
  if (kind === 'crash') {
    // Outside any job's try/catch: the host sees an uncaught error, as for a genuine crash.
    setTimeout(() => {
      throw new Error('injected worker crash (test hook)');
    }, 0);
    // Block this job so it can never complete.
    throw Object.assign(new Error('crash pending'), { crash: true });
  }
}

function complete(job: number, ok: boolean): void {
  const c = control!;
  Atomics.store(c, statusIndex(index), ok ? STATUS_OK : STATUS_ERROR);
  Atomics.store(c, doneIndex(index), job);
  Atomics.add(c, PROGRESS, 1);
  Atomics.notify(c, PROGRESS);
  if (notifyByMessage) port.post({ type: 'done', job });
}

/**
 * Runs `work` for `job` and reports it done; an error goes to the calling thread first, with
 * its name and message. An injected crash leaves the job unfinished, as a dead worker would.
 */
function runJob(job: number, work: () => void): void {
  let ok = true;
  try {
    work();
  } catch (error) {
    if ((error as { crash?: boolean }).crash) return;
    ok = false;
    const e = error instanceof Error ? error : new Error(String(error));
    port.post({ type: 'error', job, name: e.name, message: e.message });
  }
  complete(job, ok);
}

port.listen((message) => {
  switch (message.type) {
    case 'init':
      control = message.control;
      index = message.index;
      notifyByMessage = message.notifyByMessage;
      if (message.wasm !== null) runtime = WasmRuntime.instantiate(message.wasm.module, message.wasm.variant, message.wasm.memory);
      port.post({ type: 'ready' });
      return;
    case 'fault':
      pendingFault = message.kind;
      return;
    case 'program':
      programs.set(message.id, { control: message.control, steps: message.steps });
      return;
    case 'forget':
      programs.delete(message.id);
      return;
    case 'runProgram': {
      const program = programs.get(message.id);
      runJob(message.job, () => {
        if (program === undefined) throw new Error(`sepconv worker: no program ${message.id}`);
        if (runtime === null) throw new Error('sepconv worker: a scheduled model arrived but this worker has no wasm kernels');
        followProgram(program, runtime, message.thread, message.threads, message.claim, () => {
          if (pendingFault !== null) injectedFault();
        });
      });
      return;
    }
    case 'run': {
      // The calling thread may have taken this slice over already; then there is nothing to do.
      if (Atomics.compareExchange(control!, offerIndex(index), message.job, CLAIMED) !== message.job) {
        complete(message.job, true);
        return;
      }
      runJob(message.job, () => {
        if (pendingFault !== null) injectedFault();
        runPoolTask(message.task, scratch, runtime);
      });
      return;
    }
  }
});
