/** Hostile input (issue 14): a stray quote, oversized images and lines, paths out of a folder, unsafe text in messages. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodeImage, encodeJpeg, encodePng } from '../src/data/image.ts';
import { readFaceSet, readKaggleTest } from '../src/data/read.ts';
import { InputError } from '../src/errors.ts';
import { FACES96, kaggleCsv, pixels, tempDir, writeText } from './fixtures/files.ts';

const dir = tempDir('kp-hostile-');
const envSaved = { ...process.env };
after(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('KEYPOINTS_MAX_') && !(k in envSaved)) delete process.env[k];
});

/** Runs `fn` with limit variables set, restoring them after. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T> | T): Promise<T> {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(old)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

/** One line, no control bytes, an InputError whose message matches `re`. */
function oneLine(re: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof InputError, `an InputError, got ${(err as Error)?.stack}`);
    assert.doesNotMatch(err.message, /[\u0000-\u001f\u007f]/, 'no control bytes or newlines');
    assert.match(err.message, re);
    return true;
  };
}

describe('a stray quote', () => {
  test('fails at its row and field once the line limit is passed, without re-parsing the rest of the file per line', async () => {
    // 3,000 rows after the stray quote: re-parsing the open record on each line (the old way) takes minutes.
    const rows = Array.from({ length: 3000 }, (_, i) => `${i % 9},1,2,3,${pixels(4, 7)}`);
    rows[0] = rows[0]!.replace('2,3,', '2,"3,');
    const f = writeText(dir, 'stray.csv', kaggleCsv(rows));
    await withEnv({ KEYPOINTS_MAX_CSV_LINE_BYTES: '20000' }, () =>
      assert.rejects(readFaceSet(f), oneLine(/stray\.csv, row 2, field "right_eye_center_y": a quoted field opened here \(a stray '"'\?\) is still open after 19\.5 KiB .*KEYPOINTS_MAX_CSV_LINE_BYTES/)),
    );
  });

  test('faces96 with the reproduction of issue 14 (a quote before row 2\'s Image) fails fast, naming file, row and field', { skip: !existsSync(path.join(FACES96, 'train.csv.gz')), timeout: 60_000 }, async () => {
    const lines = gunzipSync(readFileSync(path.join(FACES96, 'train.csv.gz'))).toString('utf8').split('\n');
    const f = lines[1]!.split(',');
    f[30] = '"' + f[30];
    lines[1] = f.join(',');
    const q = writeText(dir, 'q.gz', gzipSync(lines.join('\n'), { level: 1 }));
    await assert.rejects(readFaceSet(q), oneLine(/q\.gz, row 2, field "Image": a quoted field opened here .* still open after 16 MiB/));
  });
});

/** A PNG signature and an IHDR claiming width×height, then nothing decodable. */
function pngHeader(width: number, height: number): Uint8Array {
  const b = Buffer.alloc(69);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).copy(b, 0);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.set([8, 6, 0, 0, 0], 24);
  return b;
}

describe('image limits, checked from the header before decoding', () => {
  test('a PNG claiming 60000×60000 is refused by its header', () => {
    assert.throws(() => decodeImage(pngHeader(60000, 60000), 'huge.png'), oneLine(/huge\.png: the PNG image is 60000×60000, wider or taller than the 16384-pixel side limit .*KEYPOINTS_MAX_IMAGE_SIDE/));
  });

  test('side and pixel limits apply to PNG and JPEG, and can be set', async () => {
    const rgba = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 4).fill(120) };
    const png = encodePng(rgba), jpg = encodeJpeg(rgba);
    assert.equal(decodeImage(png, 'ok.png').width, 40);
    await withEnv({ KEYPOINTS_MAX_IMAGE_PIXELS: '1000' }, () => {
      assert.throws(() => decodeImage(png, 'a.png'), oneLine(/a\.png: the PNG image is 40×30, more pixels than the limit \(the limit is 1,000 pixels; set KEYPOINTS_MAX_IMAGE_PIXELS/));
      assert.throws(() => decodeImage(jpg, 'a.jpg'), oneLine(/a\.jpg: the JPEG image is 40×30, more pixels/));
    });
    await withEnv({ KEYPOINTS_MAX_IMAGE_SIDE: '35' }, () => assert.throws(() => decodeImage(jpg, 'b.jpg'), oneLine(/b\.jpg: the JPEG image is 40×30, wider or taller than the 35-pixel/)));
    // A header claiming 200×50 with no pixel data: the claim alone is refused.
    await withEnv({ KEYPOINTS_MAX_IMAGE_SIDE: '100' }, () => assert.throws(() => decodeImage(pngHeader(200, 50), 'c.png'), oneLine(/c\.png: the PNG image is 200×50/)));
    await withEnv({ KEYPOINTS_MAX_IMAGE_SIDE: 'lots' }, () => assert.throws(() => decodeImage(png, 'd.png'), /KEYPOINTS_MAX_IMAGE_SIDE="lots": expected a whole number above 0/));
  });

  test('a truncated PNG or JPEG reads as truncated or corrupt, not as zlib or stream internals', () => {
    const rgba = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 4).map((_, i) => (i * 37) & 255) };
    for (const [name, bytes] of [['t.png', encodePng(rgba)], ['t.jpg', encodeJpeg(rgba)]] as const) {
      for (const cut of [30, 100, Math.floor(bytes.length / 2), bytes.length - 3]) {
        assert.throws(() => decodeImage(bytes.subarray(0, cut), name), oneLine(/t\.(png|jpg): the (PNG|JPEG) image is truncated or corrupt/), `${name} cut at ${cut}`);
      }
    }
  });
});

describe('CSV limits and checks', () => {
  test('a line over the line limit is refused, naming its row', async () => {
    const f = writeText(dir, 'long.csv', kaggleCsv([`1,2,3,4,${pixels(4)}`, `1,2,3,4,${pixels(40)}`]));
    assert.equal((await readFaceSet(writeText(dir, 'short.csv', kaggleCsv([`1,2,3,4,${pixels(4)}`])))).count, 1);
    await withEnv({ KEYPOINTS_MAX_CSV_LINE_BYTES: '1000' }, () => assert.rejects(readFaceSet(f), oneLine(/long\.csv, row 3: a line runs past 1000 bytes .*KEYPOINTS_MAX_CSV_LINE_BYTES/)));
  });

  test('a duplicate column is refused, naming it', async () => {
    const f = writeText(dir, 'dup.csv', 'a_x,a_y,b_x,b_y,a_x,Image\n1,2,3,4,5,' + pixels(2) + '\n');
    await assert.rejects(readFaceSet(f), oneLine(/dup\.csv, row 1, field "a_x": column "a_x" appears twice in the header/));
    const t = writeText(dir, 'dup-test.csv', 'ImageId,Image,Image\n1,' + pixels(2) + ',' + pixels(2) + '\n');
    await assert.rejects(readKaggleTest(t), oneLine(/dup-test\.csv, row 1, field "Image": column "Image" appears twice/));
  });

  test('UTF-16 text is named as such (with or without a byte order mark, plain or gzip)', async () => {
    const text = kaggleCsv([`1,2,3,4,${pixels(2)}`]);
    const bom = writeText(dir, 'u16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    await assert.rejects(readFaceSet(bom), oneLine(/u16\.csv: the file is UTF-16 text; save it as UTF-8/));
    const gz = writeText(dir, 'u16.csv.gz', gzipSync(Buffer.from(text, 'utf16le')));
    await assert.rejects(readFaceSet(gz), oneLine(/u16\.csv\.gz: the file is UTF-16 text/));
  });
});

describe('messages are safe to print', () => {
  test('control bytes from a header are escaped, not sent to the terminal', async () => {
    const f = writeText(dir, 'ctl.csv', 'a_x,a_y,\x1b]0;pwned\x07evil,Image\n1,2,3,' + pixels(2) + '\n');
    await assert.rejects(readFaceSet(f), oneLine(/ctl\.csv, row 1, field "\\x1b\]0;pwned\\x07evil": unexpected column/));
  });

  test('a long field and a long path are cut, with an ellipsis and their length', async () => {
    const f = writeText(dir, 'longfield.csv', kaggleCsv([`1,2,3,4,${'x'.repeat(9216)}`]));
    await assert.rejects(readFaceSet(f), (err: Error) => {
      oneLine(/longfield\.csv, row 2, field "Image": pixel 1 is "x+…x+ \(9216 chars\)", not a number/)(err);
      assert.ok(err.message.length < 300, `${err.message.length} chars`);
      return true;
    });
    const long = path.join(dir, 'd'.repeat(5000), 'x.csv');
    await assert.rejects(readFaceSet(long), (err: Error) => {
      oneLine(/d+…d+\/x\.csv \(\d+ chars\): no such file|cannot open/)(err);
      assert.ok(err.message.length < 400, `${err.message.length} chars`);
      return true;
    });
  });
});

describe("a folder's keypoints.csv names only regular files inside the folder", () => {
  const png = encodePng({ width: 32, height: 32, data: new Uint8Array(32 * 32 * 4).fill(90) });
  const outside = tempDir('kp-outside-');
  writeText(outside, 'o.png', png);
  const folder = (rowName: string) => {
    const d = tempDir('kp-folder-');
    writeText(d, 'in.png', png);
    writeText(d, 'keypoints.csv', `file,a_x,a_y\n${rowName},10,12\n`);
    return d;
  };

  test('a file inside (also through a link inside) is read', async () => {
    const d = folder('sub/../in.png');
    assert.equal((await readFaceSet(d)).count, 1);
    symlinkSync(path.join(d, 'in.png'), path.join(d, 'link.png'));
    writeText(d, 'keypoints.csv', 'file,a_x,a_y\nlink.png,10,12\n');
    assert.equal((await readFaceSet(d)).count, 1);
  });

  test('../ out of the folder, an absolute path elsewhere, or a link out are refused', async () => {
    const up = folder(path.relative(tempDir('kp-x-'), path.join(outside, 'o.png')));
    await assert.rejects(readFaceSet(up), oneLine(/keypoints\.csv, row 2, field "file": image "\.\.\/.*o\.png" points outside .*: only files inside the folder are read/));
    await assert.rejects(readFaceSet(folder(path.join(outside, 'o.png'))), oneLine(/row 2, field "file": image ".*o\.png" points outside/));
    const l = folder('out.png');
    symlinkSync(path.join(outside, 'o.png'), path.join(l, 'out.png'));
    await assert.rejects(readFaceSet(l), oneLine(/row 2, field "file": image "out\.png" is a link to outside/));
  });

  test('/dev/zero (outside) and a device linked in are refused without reading them', async () => {
    await assert.rejects(readFaceSet(folder('/dev/zero')), oneLine(/image "\/dev\/zero" points outside/));
    const d = folder('z.png');
    symlinkSync('/dev/zero', path.join(d, 'z.png'));
    await assert.rejects(readFaceSet(d), oneLine(/image "z\.png" is a link to outside/));
  });

  test('a FIFO or a folder inside is refused as not a regular file', async () => {
    const d = folder('pipe.png');
    execFileSync('mkfifo', [path.join(d, 'pipe.png')]);
    await assert.rejects(readFaceSet(d), oneLine(/row 2, field "file": image .*pipe\.png is not a regular file \(a device, FIFO or socket\)/));
    const s = folder('sub');
    mkdirSync(path.join(s, 'sub'));
    await assert.rejects(readFaceSet(s), oneLine(/image .*sub is not a regular file \(a folder\)/));
  });

  test('an image over the file size limit is refused before it is read', async () => {
    const d = folder('in.png');
    await withEnv({ KEYPOINTS_MAX_FILE_BYTES: '100' }, () => assert.rejects(readFaceSet(d), oneLine(/row 2, field "file": image .*in\.png is \d+ bytes, over the file size limit \(the limit is 100 bytes; set KEYPOINTS_MAX_FILE_BYTES/)));
  });
});
