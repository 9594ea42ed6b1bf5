// $/cancelRequest (LSP's cancel) on the server's long requests: the work stops, the answer is
// RequestCancelled (-32800), and a training in progress goes on untouched. Also: two sweep/starts
// sent together, where only one may run. A real server process each.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { CancellationTokenSource, type ResponseError } from 'vscode-jsonrpc/node.js';
import { protocol as P, syntheticFaceSet, writeKaggleCsv } from '../packages/core/src/index.ts';
import { CLI, connect, killServers, server, waitFor, within } from './server-child.ts';

const work = mkdtempSync(path.join(tmpdir(), 'kp-server-cancel-'));
// A failed assertion must not leave a server (and this test file) running.
after(killServers);

/**
 * A gzip CSV of `blocks` × 65,536 one-line faces (2×2 pixels) in ~1.6 kB a block: gzip members
 * concatenated, so a file of a few hundred kB takes the reader minutes (about 12 s a million rows here).
 */
function slowCsv(file: string, blocks: number): string {
  const member = gzipSync('1,1,1 2 3 4\n'.repeat(65_536));
  writeFileSync(file, Buffer.concat([gzipSync('left_eye_center_x,left_eye_center_y,Image\n'), ...Array<Buffer>(blocks).fill(member)]));
  return file;
}

const isCancelled = (e: ResponseError<void>) => e.code === P.ErrorCodes.requestCancelled && /was cancelled/.test(e.message);

describe('the server honours $/cancelRequest', () => {
  const configFile = path.join(work, 'tiny.keypoints.json');
  let slow = '', small = '';
  before(async () => {
    assert.ok(existsSync(CLI), `build the CLI first (${CLI})`);
    await writeKaggleCsv(syntheticFaceSet({ count: 200, seed: 5 }), path.join(work, 'faces.csv'));
    writeFileSync(configFile, JSON.stringify({ preset: 'tiny', data: { path: path.join(work, 'faces.csv') }, train: { epochs: 50, batchSize: 8 } }));
    slow = slowCsv(path.join(work, 'slow.csv.gz'), 256); // 16.8 M rows: minutes to read whole
    small = slowCsv(path.join(work, 'small.csv.gz'), 1);
  });

  test('dataset/info cancelled during training: the read stops, RequestCancelled comes back, the training goes on', async () => {
    const s = server(work);
    const { conn, events } = connect(s.child);
    await conn.sendRequest(P.Initialize, { clientName: 'test', runsFolder: path.join(work, 'runs') });
    await conn.sendRequest(P.TrainStart, { configFile });
    await waitFor(() => events.some((e) => e.type === 'batchEnd'), 'a batch');
    const source = new CancellationTokenSource();
    const info = conn.sendRequest(P.DatasetInfo, { path: slow }, source.token);
    // Requests are handled in order: once train/status is answered, dataset/info is reading.
    await conn.sendRequest(P.TrainStatus, {});
    source.cancel();
    await within(assert.rejects(info, isCancelled), 30_000, 'the cancelled dataset/info');
    // The reader itself stopped (not just the answer): the server says so once the parse saw the cancel.
    await waitFor(() => s.out.stderr.includes(`stopped reading ${slow}`), 'the parse to stop', 30_000);
    const batches = events.filter((e) => e.type === 'batchEnd').length;
    await waitFor(() => events.filter((e) => e.type === 'batchEnd').length > batches + 2, 'more batches after the cancel');
    assert.equal((await conn.sendRequest(P.TrainStatus, {})).training, true);
    await conn.sendRequest(P.TrainStop, {});
    assert.ok(events.some((e) => e.type === 'done' && e.reason === 'stopped'));
    assert.ok(!events.some((e) => e.type === 'error'), JSON.stringify(events.filter((e) => e.type === 'error')));
    // A new request for the same file starts a fresh read, not the stopped one.
    const again = new CancellationTokenSource();
    const info2 = conn.sendRequest(P.DatasetInfo, { path: small }, again.token);
    assert.equal((await info2).rows, 65_536);
    conn.dispose();
    s.child.stdin.end();
    assert.equal(await within(s.exit, 30_000, 'exit'), 0, s.out.stderr);
    assert.doesNotMatch(s.out.stderr, /\n\s+at /, s.out.stderr);
  });

  test('dataset/info and dataset/samples share one read: cancelling one leaves the other its answer', async () => {
    const s = server(work);
    const { conn } = connect(s.child);
    const source = new CancellationTokenSource();
    const info = conn.sendRequest(P.DatasetInfo, { path: small }, source.token);
    const samples = conn.sendRequest(P.DatasetSamples, { path: small, offset: 0, count: 3 });
    await conn.sendRequest(P.TrainStatus, {});
    source.cancel();
    await within(assert.rejects(info, isCancelled), 30_000, 'the cancelled dataset/info');
    assert.equal((await samples).samples.length, 3);
    assert.doesNotMatch(s.out.stderr, /stopped reading/);
    conn.dispose();
    s.child.stdin.end();
    assert.equal(await within(s.exit, 30_000, 'exit'), 0, s.out.stderr);
  });

  test('a request cancelled before the server reaches it is answered RequestCancelled without starting: train/start starts no run', async () => {
    const s = server(work);
    // The request and its $/cancelRequest in one write: both are queued before the server dispatches either.
    const frame = (m: object) => `Content-Length: ${Buffer.byteLength(JSON.stringify(m))}\r\n\r\n${JSON.stringify(m)}`;
    s.child.stdin.write(frame({ jsonrpc: '2.0', id: 7, method: 'train/start', params: { configFile } }) + frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 7 } }));
    await waitFor(() => /"id":7,"error":\{"code":-32800,"message":"train\/start was cancelled"/.test(s.out.stdout), 'the answer to the cancelled train/start', 30_000);
    s.raw(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'train/status', params: {} }));
    await waitFor(() => /"id":8,"result":\{"training":false/.test(s.out.stdout), 'train/status', 30_000);
    assert.doesNotMatch(s.out.stdout, /train\/event/);
    s.child.stdin.end();
    assert.equal(await within(s.exit, 30_000, 'exit'), 0, s.out.stderr);
  });

  test('two sweep/starts with a sweep file sent together: one runs, the other is busy', async () => {
    const file = path.join(work, 'lr.sweep.json');
    writeFileSync(file, JSON.stringify({ parameters: { 'train.learningRate': [1e-3, 5e-4] } }));
    const s = server(work);
    const { conn } = connect(s.child);
    await conn.sendRequest(P.Initialize, { clientName: 'test', runsFolder: path.join(work, 'runs') });
    const opts = { file, preset: 'tiny', epochs: 1, data: path.join(work, 'faces.csv'), parallel: 1 };
    const results = await Promise.allSettled([conn.sendRequest(P.SweepStart, { ...opts, out: path.join(work, 'sw-a') }), conn.sendRequest(P.SweepStart, { ...opts, out: path.join(work, 'sw-b') })]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results));
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal((refused.reason as ResponseError<void>).code, P.ErrorCodes.busy);
    assert.equal((await conn.sendRequest(P.SweepStop, {})).stopped, true);
    conn.dispose();
    s.child.stdin.end();
    assert.equal(await within(s.exit, 60_000, 'exit'), 0, s.out.stderr);
  });
});
