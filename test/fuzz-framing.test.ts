/**
 * Seeded fuzz of the server's JSON-RPC framing (issue 14), beside the readers' fuzz in
 * packages/core/test/fuzz.test.ts: good messages mixed with broken headers (no, non-numeric,
 * negative, too small or large, huge Content-Length; endless headers), truncated bodies, non-UTF-8
 * bytes, batches and scalars, split across chunks anywhere or many in one. Each case must end
 * (stdin then closes) with every request before the fault answered, a framing fault answered -32700
 * and logged, no stack trace, no unframed output, and bounded memory while hostile bytes stream in.
 * KEYPOINTS_FUZZ_CASES (default 300) and KEYPOINTS_FUZZ_SEED (default 14) set the run, as for the readers.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { test } from 'node:test';
import type { FramingReport } from './fuzz-framing-child.ts';

const CASES = Number(process.env.KEYPOINTS_FUZZ_CASES ?? 300);
const SEED = Number(process.env.KEYPOINTS_FUZZ_SEED ?? 14);
const CASE_TIMEOUT_MS = 20_000;
/** The child's message limit: the cases stream up to 32 MiB past it. */
const MESSAGE_LIMIT = 1 << 20;
const MAX_HELD_MB = 8, MAX_RSS_MB = 512;

function runCases(onReport: (r: FramingReport) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./fuzz-framing-child.ts', import.meta.url), [String(SEED), '0', String(CASES)], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=384'],
      env: { ...process.env, KEYPOINTS_MAX_MESSAGE_BYTES: String(MESSAGE_LIMIT) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let timer: NodeJS.Timeout | undefined, current = -1, rss: number | undefined;
    child.on('message', (m: { type: string; i?: number; report?: FramingReport; maxRssMb?: number }) => {
      clearTimeout(timer);
      if (m.type === 'start') {
        current = m.i!;
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`framing case ${current} (seed ${SEED}) did not end in ${CASE_TIMEOUT_MS / 1000} s: a hang`));
        }, CASE_TIMEOUT_MS);
      } else if (m.type === 'end') onReport(m.report!);
      else if (m.type === 'done') rss = m.maxRssMb;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (rss !== undefined && code === 0) resolve(rss);
      else reject(new Error(`the framing fuzz process died at case ${current} (seed ${SEED}): exit ${code ?? signal}`));
    });
  });
}

test(`fuzz: ${CASES} seeded JSON-RPC framing cases get answers or a logged -32700 exit, no hang, bounded memory`, { timeout: Math.max(120_000, CASES * 1_000) }, async (t) => {
  const reports: FramingReport[] = [], failures: string[] = [];
  const maxRssMb = await runCases((r) => {
    reports.push(r);
    const problems = [...r.problems, ...(r.heldMb > MAX_HELD_MB ? [`held ${r.heldMb.toFixed(1)} MB while bytes streamed in`] : [])];
    if (problems.length) failures.push(`case ${r.i} (${r.parts.join(' + ')}): ${problems.join('; ')}`);
  });
  assert.equal(reports.length, CASES);
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${CASES} cases failed`);
  assert.ok(maxRssMb < MAX_RSS_MB, `peak memory ${maxRssMb.toFixed(0)} MB`);
  // Both endings must occur, or the faults are not reaching the reader.
  const framing = reports.filter((r) => r.reason === 'framing').length;
  assert.ok(framing > 0 && framing < CASES, `${framing} of ${CASES} cases ended by a framing error`);
  const slowest = reports.reduce((a, b) => (b.ms > a.ms ? b : a));
  t.diagnostic(`seed ${SEED}: ${framing} ended by a framing error, ${CASES - framing} by stdin closing; slowest case ${slowest.i} ${slowest.ms.toFixed(0)} ms; most held ${Math.max(...reports.map((r) => r.heldMb)).toFixed(1)} MB; peak RSS ${maxRssMb.toFixed(0)} MB`);
});
