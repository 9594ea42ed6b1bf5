import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import yauzl from 'yauzl';
import { InputError } from '../errors.js';

/**
 * Streams the records of a CSV file that may be plain, gzip-compressed or inside a zip archive
 * (detected by content). Kaggle's training.csv is 240 MB: it is never held as one string.
 * Each record comes with its 1-based line number (the header is line 1).
 */
export async function* csvRecords(file: string): AsyncGenerator<{ row: number; fields: string[] }> {
  const { stream: source, kind } = await openCsvStream(file);
  const parser = parse({ relax_column_count: true, skip_empty_lines: true, bom: true, info: true, max_record_size: 64 * 1024 * 1024 });
  // Decompression errors surface on the source stream; forward them into the parser so the loop sees them.
  let sourceError: Error | undefined;
  source.on('error', (err) => {
    sourceError = err;
    parser.destroy(err);
  });
  source.pipe(parser);
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      yield { row: rec.info.lines, fields: rec.record };
    }
  } catch (err) {
    throw toInputError(file, kind, sourceError ?? (err as Error));
  } finally {
    source.destroy();
  }
}

type Container = 'plain' | 'gzip' | 'zip';

function toInputError(file: string, kind: Container, err: Error & { code?: string; lines?: number }): InputError {
  if (err instanceof InputError) return err;
  const msg = err.message ?? String(err);
  const inflate = /unexpected end of file|incorrect header check|invalid (block|distance|code|stored)|too many length|crc|corrupt|truncated/i.test(msg) || err.code === 'Z_BUF_ERROR' || err.code === 'Z_DATA_ERROR';
  if (kind !== 'plain' && inflate) {
    return new InputError({ file }, kind === 'gzip' ? `the gzip data is truncated or corrupt (${msg})` : `the zip archive is truncated or corrupt (${msg})`);
  }
  if (err.code?.startsWith('CSV_')) return new InputError({ file, row: err.lines }, `malformed CSV: ${msg}`);
  return new InputError({ file }, msg);
}

async function magic(file: string): Promise<Uint8Array> {
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new InputError({ file }, err.code === 'ENOENT' ? 'no such file' : `cannot open (${err.code ?? err.message})`);
  });
  try {
    const buf = new Uint8Array(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function openCsvStream(file: string): Promise<{ stream: Readable; kind: Container }> {
  const m = await magic(file);
  if (m.length === 0) throw new InputError({ file }, 'the file is empty');
  // Large reads: Kaggle's file is 240 MB, and the default 64 kB chunks cost time in csv-parse's per-chunk work.
  const big = { highWaterMark: 1 << 20 };
  if (m[0] === 0x1f && m[1] === 0x8b) return { stream: createReadStream(file, big).pipe(createGunzip({ chunkSize: 1 << 18 })), kind: 'gzip' };
  if (m[0] === 0x50 && m[1] === 0x4b && m[2] === 0x03 && m[3] === 0x04) return { stream: await openZipCsv(file), kind: 'zip' };
  if (m[0] === 0x50 && m[1] === 0x4b) throw new InputError({ file }, 'the zip archive is empty or not a plain zip');
  return { stream: createReadStream(file, big), kind: 'plain' };
}

/** The first .csv entry of a zip archive (Kaggle ships training.csv inside training.zip). */
function openZipCsv(file: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const fail = (problem: string) => reject(new InputError({ file }, problem));
    yauzl.open(file, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err || !zip) return fail(`the zip archive is truncated or corrupt (${err?.message ?? 'unreadable'})`);
      const names: string[] = [];
      zip.on('error', (e: Error) => fail(`the zip archive is truncated or corrupt (${e.message})`));
      zip.on('entry', (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        if (!/\.csv$/i.test(entry.fileName) || /(^|\/)__MACOSX\//.test(entry.fileName)) return zip.readEntry();
        zip.openReadStream(entry, (e2, stream) => {
          if (e2 || !stream) return fail(`cannot read ${entry.fileName} in the zip archive (${e2?.message ?? 'unreadable'})`);
          resolve(stream);
        });
      });
      zip.on('end', () => fail(`the zip archive holds no .csv file (it holds: ${names.join(', ') || 'nothing'})`));
      zip.readEntry();
    });
  });
}

export function isDirectory(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export function describeFile(file: string): string {
  return path.basename(file);
}
