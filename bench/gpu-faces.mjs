// Carries a Kaggle-layout training CSV to the GPU machine at a third of its packed size: the `Image`
// column (9,216 pixel values as decimal text, 107 MB for faces96) travels as raw uint8 bytes, which
// xz packs far better than text, and everything else (header, label columns, line ends) as text.
// `join` rebuilds the CSV byte for byte and checks it against the original's SHA-256.
//   node bench/gpu-faces.mjs split <train.csv[.gz]> <dir> [rows]   writes dir/labels.txt, dir/pixels.u8, dir/sha256
//   node bench/gpu-faces.mjs join <dir> <train.csv>                writes train.csv, fails if its SHA-256 differs
// Plain Node (no dependencies): it runs before the bundle is trusted on the far side.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { once } from 'node:events';
import path from 'node:path';

const PIXELS = 96 * 96;
const die = (msg) => { console.error(`gpu-faces: ${msg}`); process.exit(1); };

// Lines with their own ending kept ('\r\n' or '\n'), so the rebuilt file matches byte for byte.
async function* linesOf(file) {
  let stream = createReadStream(file);
  if (file.endsWith('.gz')) stream = stream.pipe(createGunzip());
  let rest = '';
  for await (const chunk of stream.setEncoding('latin1')) {
    rest += chunk;
    let i;
    while ((i = rest.indexOf('\n')) >= 0) { yield rest.slice(0, i + 1); rest = rest.slice(i + 1); }
  }
  if (rest) yield rest;
}

async function split(src, dir, rowsArg) {
  const rows = rowsArg === undefined ? Infinity : Number(rowsArg);
  if (!(rows > 0)) die(`rows must be a positive number, not '${rowsArg}'`);
  const hash = createHash('sha256');
  const labels = [];
  const pixels = [];
  let n = -1;
  for await (const line of linesOf(src)) {
    if (n >= rows) break;
    hash.update(line, 'latin1');
    n += 1;
    const body = line.replace(/\r?\n$/, '');
    const end = line.slice(body.length);
    if (n === 0) {
      if (!body.endsWith(',Image')) die(`${src} row 1: the last column must be Image`);
      labels.push(line);
      continue;
    }
    const cut = body.lastIndexOf(',');
    const text = body.slice(cut + 1);
    const values = text.split(' ');
    if (values.length !== PIXELS) die(`${src} row ${n + 1}: Image has ${values.length} values, not ${PIXELS}`);
    const bytes = Uint8Array.from(values, Number);
    // Only text that the bytes print back to exactly (no '007', '255.0', double spaces) can travel as bytes.
    if (bytes.join(' ') !== text) die(`${src} row ${n + 1}: Image is not plain 0–255 integers separated by single spaces`);
    labels.push(body.slice(0, cut) + end);
    pixels.push(bytes);
  }
  writeFileSync(path.join(dir, 'labels.txt'), labels.join(''), 'latin1');
  writeFileSync(path.join(dir, 'pixels.u8'), Buffer.concat(pixels));
  writeFileSync(path.join(dir, 'sha256'), `${hash.digest('hex')}\n`);
  console.error(`gpu-faces: ${n} faces from ${src}`);
}

async function join(dir, dest) {
  const labels = readFileSync(path.join(dir, 'labels.txt'), 'latin1').split(/(?<=\n)/);
  const pixels = readFileSync(path.join(dir, 'pixels.u8'));
  const want = readFileSync(path.join(dir, 'sha256'), 'utf8').trim();
  const faces = labels.length - 1;
  if (pixels.length !== faces * PIXELS) die(`${dir}/pixels.u8 holds ${pixels.length} bytes, not ${faces * PIXELS} (${faces} faces of ${PIXELS} pixels)`);
  const hash = createHash('sha256');
  const out = createWriteStream(dest);
  const put = async (s) => { hash.update(s, 'latin1'); if (!out.write(s, 'latin1')) await once(out, 'drain'); };
  await put(labels[0]);
  for (let i = 0; i < faces; i++) {
    const line = labels[i + 1];
    const body = line.replace(/\r?\n$/, '');
    await put(`${body},${pixels.subarray(i * PIXELS, (i + 1) * PIXELS).join(' ')}${line.slice(body.length)}`);
  }
  out.end();
  await once(out, 'close');
  const got = hash.digest('hex');
  if (got !== want) die(`${dest}: rebuilt CSV's SHA-256 ${got} differs from the original's ${want}`);
  console.error(`gpu-faces: ${dest} rebuilt, ${faces} faces, SHA-256 as the original's`);
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'split' && a && b) await split(a, b, c);
else if (mode === 'join' && a && b) await join(a, b);
else die('usage: gpu-faces.mjs split <train.csv[.gz]> <dir> [rows] | join <dir> <train.csv>');
