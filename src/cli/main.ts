#!/usr/bin/env node
/** `amadeus <command>`: one file per command under cli/. */
import { UsageError } from '../config/options.js';
import { runProbe } from './probe.js';
import { runGenerate } from './generate.js';
import { runServe } from './serve.js';
import { runTrain } from './train.js';

const COMMANDS: Record<string, { run: (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>; summary: string }> = {
  serve: { run: runServe, summary: 'serve the KEDA ExternalScaler gRPC API with predicted load' },
  train: { run: runTrain, summary: 'pre-train the LSTM forecaster on a trace' },
  generate: { run: runGenerate, summary: 'write the synthetic workload as a trace CSV' },
  probe: { run: runProbe, summary: 'call a running scaler as KEDA does and print its answers' },
  eval: { run: (argv, env) => import('./eval.js').then((m) => m.runEval(argv, env)), summary: 'backtest forecasting models on a trace (design §5)' },
  simulate: {
    run: (argv, env) => import('./simulate.js').then((m) => m.runSimulate(argv, env)),
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
