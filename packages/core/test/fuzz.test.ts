/**
 * Seeded fuzz test over the readers (issue 14): mutated CSVs (plain, gzip, zip), PNG/JPEG bytes and
 * photo folders whose keypoints.csv names hostile files. Each case must end, within a time limit, in
 * success or the project's own error with a one-line message naming a file of the case; the cases
 * run in a child process so a hang can be killed and its peak memory measured.
 * KEYPOINTS_FUZZ_CASES (default 300) and KEYPOINTS_FUZZ_SEED (default 14) set the run.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { test } from 'node:test';
import type { CaseReport } from './fixtures/fuzz-child.ts';

const CASES = Number(process.env.KEYPOINTS_FUZZ_CASES ?? 300);
const SEED = Number(process.env.KEYPOINTS_FUZZ_SEED ?? 14);
/** A case that takes this long has hung (they take milliseconds; the machine may be busy). */
const CASE_TIMEOUT_MS = 20_000;
/** Peak resident memory of the child: a reader that allocates by a header's claim would pass gigabytes. */
const MAX_RSS_MB = 1024;

function runCases(seed: number, from: number, count: number, onReport: (r: CaseReport) => void): Promise<{ maxRssMb: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./fixtures/fuzz-child.ts', import.meta.url), [String(seed), String(from), String(count)], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=768'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let timer: NodeJS.Timeout | undefined, current = -1, result: { maxRssMb: number } | undefined;
    child.on('message', (m: { type: string; i?: number; report?: CaseReport; maxRssMb?: number }) => {
      clearTimeout(timer);
      if (m.type === 'start') {
        current = m.i!;
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`fuzz case ${current} (seed ${seed}) did not finish in ${CASE_TIMEOUT_MS / 1000} s: a hang`));
        }, CASE_TIMEOUT_MS);
      } else if (m.type === 'end') onReport(m.report!);
      else if (m.type === 'done') result = { maxRssMb: m.maxRssMb! };
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result && code === 0) resolve(result);
      else reject(new Error(`the fuzz process died at case ${current} (seed ${seed}): exit ${code ?? signal} (out of memory?)`));
    });
  });
}

/** What a user would see must be safe: the project's error type, one line, bounded, naming a file of the case. */
function checkReport(r: CaseReport): string | undefined {
  if (r.ok) return r.mustFail ? `read a folder whose ${r.mustFail} instead of refusing it` : undefined;
  const m = r.message ?? '';
  if (!r.userError) return `not a UserError (${r.name}): ${r.stack}`;
  if (/[\u0000-\u001f\u007f]/.test(m)) return `control bytes in the message: ${JSON.stringify(m)}`;
  if (m.length > 600) return `a ${m.length}-character message`;
  if (!m.startsWith(r.dir)) return `the message does not start with a file of the case (${r.dir}): ${m}`;
  const row = /, row (\d+)/.exec(m);
  if (row && Number(row[1]) < 1) return `row ${row[1]}: ${m}`;
  return undefined;
}

test(`fuzz: ${CASES} seeded hostile inputs end in a clean error or success, no hang, bounded memory`, { timeout: Math.max(120_000, CASES * 2_000) }, async (t) => {
  const reports: CaseReport[] = [], failures: string[] = [];
  const { maxRssMb } = await runCases(SEED, 0, CASES, (r) => {
    reports.push(r);
    const bad = checkReport(r);
    if (bad) failures.push(`case ${r.i} (${r.kind}): ${bad}`);
  });
  assert.equal(reports.length, CASES);
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${CASES} cases failed`);
  assert.ok(maxRssMb < MAX_RSS_MB, `peak memory ${maxRssMb.toFixed(0)} MB`);
  const by = new Map<string, { ok: number; err: number; row: number }>();
  for (const r of reports) {
    const s = by.get(r.kind) ?? { ok: 0, err: 0, row: 0 };
    if (r.ok) s.ok++;
    else s.err++;
    if (/, row \d+/.test(r.message ?? '')) s.row++;
    by.set(r.kind, s);
  }
  // Both outcomes must occur, or the mutations are not reaching the readers.
  assert.ok(reports.some((r) => r.ok) && reports.some((r) => !r.ok), 'both successes and errors');
  const slowest = reports.reduce((a, b) => (b.ms > a.ms ? b : a));
  t.diagnostic(`seed ${SEED}: ${[...by].map(([k, s]) => `${k} ${s.ok} ok / ${s.err} errors (${s.row} name a row)`).join('; ')}`);
  t.diagnostic(`slowest case ${slowest.i} (${slowest.kind}); peak RSS ${maxRssMb.toFixed(0)} MB; peak heap + buffers after a case ${Math.max(...reports.map((r) => r.heapMb)).toFixed(0)} MB`);
});
