// The server as a flaky client meets it: racing train/starts, a backend change during training,
// stdin closed mid-run, SIGTERM, broken framing, batch arrays and scalar bodies. A real child process each.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ResponseError } from 'vscode-jsonrpc/node.js';
import { protocol as P, syntheticFaceSet, writeKaggleCsv } from '../packages/core/src/index.ts';
import { CLI, connect, killServers, server as serve, waitFor, within } from './server-child.ts';

const work = mkdtempSync(path.join(tmpdir(), 'kp-server-hostile-'));
const server = () => serve(work);
after(killServers);

describe('the server under racing requests, a vanishing client and broken framing', () => {
  const configFile = path.join(work, 'tiny.keypoints.json');
  before(async () => {
    assert.ok(existsSync(CLI), `build the CLI first (${CLI})`);
    await writeKaggleCsv(syntheticFaceSet({ count: 200, seed: 5 }), path.join(work, 'faces.csv'));
    writeFileSync(configFile, JSON.stringify({ preset: 'tiny', data: { path: path.join(work, 'faces.csv') }, train: { epochs: 50, batchSize: 8 } }));
  });

  test('two train/start with a configFile sent together: one runs, the other is busy; initialize with another backend is refused while it runs', async () => {
    const s = server();
    const { conn, events } = connect(s.child);
    await conn.sendRequest(P.Initialize, { clientName: 'test', runsFolder: path.join(work, 'runs') });
    const results = await Promise.allSettled([conn.sendRequest(P.TrainStart, { configFile }), conn.sendRequest(P.TrainStart, { configFile })]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results));
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal((refused.reason as ResponseError<void>).code, P.ErrorCodes.busy);
    await waitFor(() => events.some((e) => e.type === 'batchEnd'), 'a batch');
    await assert.rejects(conn.sendRequest(P.Initialize, { clientName: 'test', backend: 'cpu' }), (e: ResponseError<void>) => e.code === P.ErrorCodes.busy && /cannot switch the backend to cpu while training/.test(e.message));
    const status = await conn.sendRequest(P.TrainStatus, {});
    assert.equal(status.training, true);
    assert.equal(status.runDir, (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<P.TrainStartResult>).value.runDir);
    await conn.sendRequest(P.TrainStop, {});
    assert.ok(events.some((e) => e.type === 'done' && e.reason === 'stopped'));
    assert.ok(!events.some((e) => e.type === 'error'), JSON.stringify(events.filter((e) => e.type === 'error')));
    conn.dispose();
    s.child.stdin.end();
    assert.equal(await within(s.exit, 30_000, 'exit after stdin closed'), 0);
  });

  test('stdin closed during training: the run checkpoints, summary.json is written, a clean exit without a stack trace', async () => {
    const s = server();
    const { conn, events } = connect(s.child);
    const { runDir } = await conn.sendRequest(P.TrainStart, { configFile });
    await waitFor(() => events.some((e) => e.type === 'batchEnd'), 'a batch');
    s.child.stdin.end();
    assert.equal(await within(s.exit, 60_000, 'exit after stdin closed'), 0, s.out.stderr);
    assert.ok(existsSync(path.join(runDir, 'checkpoint', 'state.json')), s.out.stderr);
    assert.equal(JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8')).reason, 'stopped');
    assert.doesNotMatch(s.out.stderr, /\n\s+at |ConnectionError/, s.out.stderr);
  });

  test('SIGTERM during training: the run checkpoints and the server exits', async () => {
    const s = server();
    const { conn, events } = connect(s.child);
    const { runDir } = await conn.sendRequest(P.TrainStart, { configFile });
    await waitFor(() => events.some((e) => e.type === 'batchEnd'), 'a batch');
    s.child.kill('SIGTERM');
    assert.equal(await within(s.exit, 60_000, 'exit after SIGTERM'), 130, s.out.stderr);
    assert.equal(JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8')).reason, 'stopped');
  });

  const framing: [string, (s: ReturnType<typeof server>) => void][] = [
    ['no Content-Length', (s) => s.raw('{"jsonrpc":"2.0","id":1,"method":"train/status"}', 'Content-Type: application/json')],
    ['a non-numeric Content-Length', (s) => s.raw('{"jsonrpc":"2.0","id":1,"method":"train/status"}', 'Content-Length: lots')],
    ['a too-small Content-Length, then a good request', (s) => {
      s.raw('{"jsonrpc":"2.0","id":1,"method":"train/status"}', 'Content-Length: 5');
      s.raw('{"jsonrpc":"2.0","id":2,"method":"train/status"}');
    }],
  ];
  for (const [what, send] of framing) {
    test(`${what}: an error reply, then a logged clean exit (never alive but deaf)`, async () => {
      const s = server();
      send(s);
      const code = await within(s.exit, 20_000, 'the server after broken framing');
      assert.equal(code, 2, s.out.stderr);
      assert.match(s.out.stdout, /"id":null,"error":\{"code":-32700/);
      assert.match(s.out.stderr, /broken message framing/);
      assert.doesNotMatch(s.out.stderr, /\n\s+at /);
    });
  }

  test('a batch array and a scalar body get InvalidRequest; the server answers the next request', async () => {
    const s = server();
    s.raw('[{"jsonrpc":"2.0","id":1,"method":"train/status"}]');
    s.raw('42');
    s.raw('{"jsonrpc":"2.0","id":3,"method":"train/status","params":{}}');
    await waitFor(() => /"id":3,"result"/.test(s.out.stdout), 'the answer to request 3', 20_000);
    assert.match(s.out.stdout, /"id":null,"error":\{"code":-32600,"message":"batch requests are not supported/);
    assert.match(s.out.stdout, /"id":null,"error":\{"code":-32600,"message":"not a JSON-RPC request object: 42/);
    s.child.stdin.end();
    assert.equal(await within(s.exit, 20_000, 'exit'), 0);
  });
});
