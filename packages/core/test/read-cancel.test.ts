/** Readers stop when their AbortSignal fires (the server's $/cancelRequest): a CancelledError, not a full read. */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { encodePng } from '../src/data/image.ts';
import { readFaceSet } from '../src/data/read.ts';
import { CancelledError, errorCodeOf } from '../src/errors.ts';
import { kaggleCsv, pixels, tempDir, writeText } from './fixtures/files.ts';

const dir = tempDir('kp-cancel-');

test('a Kaggle CSV read stops between chunks once its signal fires', async () => {
  // 4 MB of rows: several chunks; the signal fires at the first progress report (row 500).
  const row = `1,1,2,2,${pixels(16)}`;
  const file = writeText(dir, 'big.csv', kaggleCsv(Array.from({ length: 5000 }, () => row)));
  const controller = new AbortController();
  let last = 0;
  const read = readFaceSet(file, { signal: controller.signal, onProgress: (n) => ((last = n), controller.abort()) });
  await assert.rejects(read, (e: Error) => e instanceof CancelledError && errorCodeOf(e) === 'cancelled' && e.message === `reading ${file} was cancelled`);
  assert.ok(last < 5000, `read ${last} rows after the cancel`);
});

test('a photo folder read stops between photos once its signal fires', async () => {
  const folder = path.join(dir, 'photos');
  mkdirSync(folder);
  const png = encodePng({ width: 32, height: 32, data: new Uint8Array(32 * 32 * 4).fill(90) });
  const rows = Array.from({ length: 120 }, (_, i) => (writeText(folder, `p${i}.png`, png), `p${i}.png,10,10,20,10,15,25`));
  writeText(folder, 'keypoints.csv', `file,left_eye_center_x,left_eye_center_y,right_eye_center_x,right_eye_center_y,mouth_center_bottom_lip_x,mouth_center_bottom_lip_y\n${rows.join('\n')}\n`);
  const controller = new AbortController();
  let last = 0;
  await assert.rejects(readFaceSet(folder, { signal: controller.signal, onProgress: (n) => ((last = n), controller.abort()) }), CancelledError);
  assert.equal(last, 50, 'stopped at the photo after the first progress report');
});

test('an already cancelled signal reads nothing', async () => {
  await assert.rejects(readFaceSet(path.join(dir, 'no-such.csv'), { signal: AbortSignal.abort() }), CancelledError);
});
