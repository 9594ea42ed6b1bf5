// bench/gpu-faces.mjs, which carries the training CSV to the GPU machine as bytes: the rebuilt CSV is
// the original byte for byte, a first-N-rows pack rebuilds those rows, and what cannot travel as bytes
// (or a damaged pack) stops with one line naming the file and row.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { syntheticFaceSet, writeKaggleCsv } from '../packages/core/src/index.ts';

const SCRIPT = path.resolve(import.meta.dirname, '../bench/gpu-faces.mjs');
const work = mkdtempSync(path.join(tmpdir(), 'kp-gpu-faces-'));
const faces = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });

describe('bench/gpu-faces.mjs', () => {
  after(() => rmSync(work, { recursive: true, force: true }));

  test('split then join gives the same CSV byte for byte (gzip in, CRLF and blank labels kept)', async () => {
    const gz = path.join(work, 'faces.csv.gz');
    await writeKaggleCsv(syntheticFaceSet({ count: 5, seed: 2 }), gz);
    const pack = path.join(work, 'pack');
    mkdirSync(pack);
    let r = faces('split', gz, pack);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(path.join(pack, 'pixels.u8')).length, 5 * 9216);
    r = faces('join', pack, path.join(work, 'rebuilt.csv'));
    assert.equal(r.status, 0, r.stderr);
    const { gunzipSync } = await import('node:zlib');
    assert.ok(readFileSync(path.join(work, 'rebuilt.csv')).equals(gunzipSync(readFileSync(gz))));

    // Kaggle's own line ends and blanks, which writeKaggleCsv may not produce.
    const pixels = Array.from({ length: 9216 }, (_, i) => (i * 7) % 256).join(' ');
    const csv = `a_x,a_y,Image\r\n1.5,,${pixels}\r\n,2.25,${pixels}\r\n3,4,${pixels}`;
    writeFileSync(path.join(work, 'crlf.csv'), csv);
    const two = path.join(work, 'two');
    mkdirSync(two);
    assert.equal(faces('split', path.join(work, 'crlf.csv'), two, '2').status, 0);
    r = faces('join', two, path.join(work, 'two.csv'));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(path.join(work, 'two.csv'), 'utf8'), csv.split('\r\n').slice(0, 3).join('\r\n') + '\r\n');
  });

  test('what cannot travel as bytes, and a damaged pack, stop with one line naming file and row', () => {
    const bad = path.join(work, 'bad.csv');
    const ok = Array.from({ length: 9216 }, () => '9').join(' ');
    writeFileSync(bad, `a_x,Image\n1,${ok}\n2,${ok.replace(/^9/, '09')}\n`);
    const out = path.join(work, 'bad');
    mkdirSync(out);
    let r = faces('split', bad, out);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `gpu-faces: ${bad} row 3: Image is not plain 0–255 integers separated by single spaces\n`);
    writeFileSync(bad, `a_x,Image\n1,9 9 9\n`);
    r = faces('split', bad, out);
    assert.equal(r.stderr, `gpu-faces: ${bad} row 2: Image has 3 values, not 9216\n`);

    writeFileSync(path.join(out, 'labels.txt'), 'a_x,Image\n1\n');
    writeFileSync(path.join(out, 'pixels.u8'), Buffer.alloc(9216, 1));
    writeFileSync(path.join(out, 'sha256'), '0'.repeat(64) + '\n');
    r = faces('join', out, path.join(work, 'x.csv'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^gpu-faces: \S+x\.csv: rebuilt CSV's SHA-256 [0-9a-f]{64} differs from the original's 0{64}\n$/);
    writeFileSync(path.join(out, 'pixels.u8'), Buffer.alloc(100));
    r = faces('join', out, path.join(work, 'x.csv'));
    assert.match(r.stderr, /pixels\.u8 holds 100 bytes, not 9216 \(1 faces of 9216 pixels\)\n$/);
  });
});
