/**
 * SIGTERM and SIGINT, handled by one process-wide listener that is installed first and never
 * removed: a listener removed and another added later lets a signal that arrived in between —
 * while modules were still being evaluated, before the event loop could deliver it — be dropped
 * (the process then ignored a Kubernetes SIGTERM and ran on). A command hands its own handler in
 * with `onSignals`; before it does, a signal stops the process: with 0 while nothing has started
 * (modules still loading), else with 128 + the signal's number, as an unhandled signal would.
 */
type Handler = (signal: NodeJS.Signals) => void;

let current: Handler | null = null;
let installed = false;
let started = false;

function dispatch(signal: NodeJS.Signals): void {
  if (current) {
    current(signal);
    return;
  }
  if (!started) {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'stopped before start-up', signal })}\n`);
    process.exit(0);
  }
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

/** Installs the listener (once). */
export function installSignals(): void {
  if (installed) return;
  installed = true;
  process.on('SIGTERM', dispatch);
  process.on('SIGINT', dispatch);
}

/** The command has begun its work: from now on a signal without a handler exits 128 + its number. */
export function commandStarted(): void {
  started = true;
}

/** This command's handler for every later signal (and one that is waiting to be delivered). */
export function onSignals(handler: Handler): void {
  installSignals();
  current = handler;
}
