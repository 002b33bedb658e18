#!/usr/bin/env node
/** `amadeus <command>`: one file per command under cli/. */
import { UsageError } from '../config/options.js';
import { commandStarted, installSignals } from './signals.js';

// First of all: a signal while the command's modules load (tfjs and the Kubernetes client take a
// second or more) must not kill the process by signal (signals.ts).
installSignals();

type Run = (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>;
/** Loads a command's module on demand (only that command's dependencies), then runs it. */
const lazy = (load: () => Promise<Run>): Run => async (argv, env) => {
  const run = await load();
  commandStarted();
  return run(argv, env);
};

const COMMANDS: Record<string, { run: Run; summary: string }> = {
  serve: { run: lazy(() => import('./serve.js').then((m) => m.runServe)), summary: 'serve the KEDA ExternalScaler gRPC API with predicted load' },
  train: { run: lazy(() => import('./train.js').then((m) => m.runTrain)), summary: 'pre-train the LSTM forecaster on a trace' },
  generate: { run: lazy(() => import('./generate.js').then((m) => m.runGenerate)), summary: 'write the synthetic workload as a trace CSV' },
  probe: { run: lazy(() => import('./probe.js').then((m) => m.runProbe)), summary: 'call a running scaler as KEDA does and print its answers' },
  eval: { run: lazy(() => import('./eval.js').then((m) => m.runEval)), summary: 'backtest forecasting models on a trace (design §5)' },
  simulate: {
    run: lazy(() => import('./simulate.js').then((m) => m.runSimulate)),
    summary: 'compare hpa-cpu, keda-reactive, naive, amadeus and the oracle on a trace (design §5)',
  },
};

function usage(): string {
  return ['Usage: amadeus <command> [options]', '', 'Commands:', ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`), '', 'Run `amadeus <command> --help` for its options.'].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage());
    return command ? 0 : 2;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    console.error(`amadeus: unknown command "${command}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await entry.run(rest, process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`amadeus ${command}: ${err.message}`);
      return 2;
    }
    console.error(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: `amadeus ${command} failed`, error: err instanceof Error ? err.message : String(err) }));
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  // Let pending socket writes (a stream's final status) flush by exiting when the event loop is
  // empty; a handle that lingers must not keep a finished command alive, so exit anyway soon after.
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1000).unref();
});
