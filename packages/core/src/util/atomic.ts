/** Atomic file writes (temp + rename), and the kill test's hook at every step of a write. */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Test hook: with $KEYPOINTS_KILL_AT_WRITE=N this process kills itself (SIGKILL, as `kill -9`) at
 * the Nth write step (a temp file written, a rename), so a test can check that a kill anywhere
 * leaves a folder that resumes with nothing lost. Unset, it only counts.
 */
export const KILL_AT_WRITE_ENV = 'KEYPOINTS_KILL_AT_WRITE';
let writeSteps = 0;
export function writeStep(): void {
  writeSteps++;
  const at = Number(process.env[KILL_AT_WRITE_ENV]);
  if (at > 0 && writeSteps === at) process.kill(process.pid, 'SIGKILL');
}

/** Our temp files' names: `<file>.<8 hex>.tmp` (writeFileAtomic) and `checkpoint.tmp-<pid>` (checkpoints). */
export const isTempName = (name: string): boolean => /\.[0-9a-f]{8}\.tmp$/.test(name) || /^checkpoint\.tmp-\d+$/.test(name);

/** Removes the temp files a killed writer left in `dir` (top level only). */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names.filter(isTempName);
  await Promise.all(stale.map((n) => rm(path.join(dir, n), { recursive: true, force: true })));
  return stale;
}

/**
 * Writes a file so readers see either the old or the new content, never half of it:
 * write a sibling temp file, then rename over the target (atomic on one filesystem).
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeStep();
    await writeFile(tmp, data);
    writeStep();
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
