/** Runs the built CLI (`dist/cli/main.js`) as a child process and reads its JSON log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './fakes.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
  /** Waits for a log line matching `pred` and returns it. */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number, what?: string): Promise<Record<string, unknown>>;
}

/** Ends a CLI process a test left running (SIGKILL) and waits for it to exit; nothing if it ended. */
export async function killCli(proc: CliProcess | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null) return;
  proc.child.kill('SIGKILL');
  await proc.exited;
}

export function runCli(args: string[], env: Record<string, string> = {}): CliProcess {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  // `serve` keeps weights and state snapshots in --weights-dir (default under the working
  // directory), and a later start adopts them: each process gets its own unless the test shares one.
  let ownDir: string | null = null;
  if (args[0] === 'serve' && !args.includes('--weights-dir') && env.AMADEUS_WEIGHTS_DIR === undefined) {
    ownDir = mkdtempSync(join(tmpdir(), 'amadeus-cli-weights-'));
    args = [...args, '--weights-dir', ownDir];
  }
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (ownDir) child.on('exit', () => rmSync(ownDir!, { recursive: true, force: true }));
  const logs: Record<string, unknown>[] = [];
  let err = '';
  let buf = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    stderr: () => err,
    exited,
    async waitForLog(pred, timeoutMs = 10_000, what = 'log line') {
      await waitFor(() => logs.some(pred), timeoutMs, `${what}; stderr: ${err}`);
      return logs.find(pred)!;
    },
  };
}
