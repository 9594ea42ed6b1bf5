// A `keypoints serve --stdio` child process for the server tests, with its output kept and a typed connection.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import { protocol as P } from '../packages/core/src/index.ts';
import type { TrainingEvent } from '../packages/core/src/index.ts';

export const CLI = path.resolve(import.meta.dirname, '../packages/cli/dist/keypoints.js');

const started = new Set<ChildProcessWithoutNullStreams>();
/** For a test file's `after`: any server a failed test left running is killed, so the file ends. */
export const killServers = () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};

export function server(cwd: string) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, 'serve', '--stdio'], { cwd });
  started.add(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  /** One framed message as given (the header may be broken on purpose). */
  const raw = (body: string, header = `Content-Length: ${Buffer.byteLength(body)}`) => child.stdin.write(`${header}\r\n\r\n${body}`);
  return { child, out, exit, raw };
}

export function connect(child: ChildProcessWithoutNullStreams) {
  const conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const events: TrainingEvent[] = [];
  conn.onNotification(P.TrainEvent, (e) => events.push(e));
  conn.listen();
  return { conn, events };
}

export async function waitFor(pred: () => boolean, what: string, ms = 60_000) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, no) => setTimeout(() => no(new Error(`${what}: still running after ${ms} ms`)), ms))]);
