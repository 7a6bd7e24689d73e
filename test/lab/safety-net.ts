// Last-resort cleanup: if a test process exits or is interrupted before a lab (or a CPU stress)
// is torn down, its namespaces and processes must not outlive it. The hooks are synchronous because
// nothing can be awaited in an 'exit' handler.

type Cleanup = () => void;

const pending = new Set<Cleanup>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

function runAll(): void {
  for (const fn of [...pending]) {
    pending.delete(fn);
    try {
      fn();
    } catch (e) {
      process.stderr.write(`network lab: cleanup at exit failed: ${(e as Error).message}\n`);
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  uninstall();
  // Die of the same signal, as the process would have without us.
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', runAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/**
 * Registers fn to run if the process exits or gets SIGINT/SIGTERM/SIGHUP while it is registered.
 * Returns the function that unregisters it (call it once the orderly cleanup has run); signal
 * handlers are installed only while something is registered, so they do not change how an idle
 * test process reacts to Ctrl-C.
 */
export function cleanupAtExit(fn: Cleanup): () => void {
  pending.add(fn);
  install();
  return () => {
    pending.delete(fn);
    if (pending.size === 0) uninstall();
  };
}
