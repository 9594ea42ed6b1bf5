import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import type { MessageConnection } from 'vscode-jsonrpc';
import { encodePng, grayToRgba, protocol as P, syntheticFaceSet, writeKaggleCsv } from '../packages/core/src/index.ts';
import type { TrainingEvent } from '../packages/core/src/index.ts';

const CLI = path.resolve(import.meta.dirname, '../packages/cli/dist/keypoints.js');
const EXT = path.resolve(import.meta.dirname, '../packages/vscode-extension/dist');

// The same server twice: as the CLI runs it, and as the VS Code extension ships it (one bundle,
// runtime files beside it, found through the environment the extension sets).
const servers = [
  { name: 'keypoints serve --stdio', script: CLI, env: {} },
  {
    name: "the extension's bundled server",
    script: path.join(EXT, 'server.mjs'),
    env: {
      KEYPOINTS_WASM_DIR: path.join(EXT, 'assets'),
      KEYPOINTS_RESVG_WASM: path.join(EXT, 'assets', 'index_bg.wasm'),
      KEYPOINTS_FONT_DIR: path.join(EXT, 'assets'),
      KEYPOINTS_PLOTLY_JS: path.join(EXT, 'assets', 'plotly.min.js'),
      ELECTRON_RUN_AS_NODE: '1',
    },
  },
];

for (const server of servers) describe(`${server.name} (a real child process)`, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'kp-server-'));
  let child: ChildProcessWithoutNullStreams;
  let conn: MessageConnection;
  const events: TrainingEvent[] = [];
  let stderr = '';

  before(async () => {
    const set = syntheticFaceSet({ count: 96, seed: 8 });
    set.coords[0] = NaN; // one missing label
    await writeKaggleCsv(set, path.join(work, 'faces.csv'));
    writeFileSync(path.join(work, 'face.png'), encodePng(grayToRgba(set.pixels.subarray(0, 9216), 96, 96)));
    child = spawn(process.execPath, [server.script, 'serve', '--stdio'], { cwd: work, env: { ...process.env, ...server.env } });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    conn.onNotification(P.TrainEvent, (e) => events.push(e));
    conn.listen();
  });

  after(() => {
    conn.dispose();
    child.kill();
  });

  const waitFor = async (pred: () => boolean, what: string, ms = 60_000) => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}\nserver log:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test('initialize reports version, backend and capabilities', async () => {
    const r = await conn.sendRequest(P.Initialize, { clientName: 'test', runsFolder: path.join(work, 'runs') });
    assert.equal(r.protocolVersion, P.PROTOCOL_VERSION);
    assert.equal(r.backend.name, 'wasm');
    assert.ok(r.presets.includes('default'));
    assert.equal(r.capabilities.train, true);
  });

  test('dataset/info counts rows and missing keypoints; dataset/samples returns PNG faces', async () => {
    const info = await conn.sendRequest(P.DatasetInfo, { path: path.join(work, 'faces.csv') });
    assert.equal(info.rows, 96);
    assert.equal(info.complete, 95);
    assert.equal(info.missing.left_eye_center, 1);
    const { samples } = await conn.sendRequest(P.DatasetSamples, { path: path.join(work, 'faces.csv'), count: 3 });
    assert.equal(samples.length, 3);
    assert.match(samples[0]!.image, /^data:image\/png;base64,iVBOR/);
    assert.equal(samples[0]!.keypoints.length, 14);
    assert.equal(samples[1]!.keypoints.length, 15);
  });

  test('train/start streams epoch events; a second start is refused as busy; train/stop ends it', async () => {
    const { runDir } = await conn.sendRequest(P.TrainStart, { config: { preset: 'tiny', train: { epochs: 50 } }, dataPath: path.join(work, 'faces.csv') });
    assert.ok(runDir.startsWith(path.join(work, 'runs')));
    await waitFor(() => events.some((e) => e.type === 'epochEnd'), 'the first epochEnd');
    assert.equal(events[0]!.type, 'start');
    await assert.rejects(conn.sendRequest(P.TrainStart, { config: { preset: 'tiny' } }), (err: ResponseError<void>) => {
      assert.equal(err.code, P.ErrorCodes.busy);
      assert.match(err.message, /already training/);
      return true;
    });
    const status = await conn.sendRequest(P.TrainStatus, {});
    assert.equal(status.training, true);
    const stop = await conn.sendRequest(P.TrainStop, {});
    assert.equal(stop.stopped, true);
    const done = events.find((e) => e.type === 'done');
    assert.ok(done && done.type === 'done' && done.reason === 'stopped');
    const { runs } = await conn.sendRequest(P.RunsList, {});
    assert.equal(runs[0]!.dir, runDir);
    assert.equal(runs[0]!.hasModel, true);
  });

  test('predict uses the newest model and returns keypoints in image pixels', async () => {
    const r = await conn.sendRequest(P.Predict, { images: [path.join(work, 'face.png')] });
    assert.equal(r.results.length, 1);
    assert.equal(r.results[0]!.faces[0]!.keypoints.length, 15);
    assert.equal(r.keypoints[0], 'left_eye_center');
  });

  test('bad input and bad settings come back as errors with codes and named fields', async () => {
    writeFileSync(path.join(work, 'bad.csv'), 'a_x,a_y,Image\n1,zz,1 2 3 4\n');
    await assert.rejects(conn.sendRequest(P.DatasetInfo, { path: path.join(work, 'bad.csv') }), (err: ResponseError<void>) => {
      assert.equal(err.code, P.ErrorCodes.invalidInput);
      assert.match(err.message, /bad\.csv, row 2, field "a_y"/);
      return true;
    });
    await assert.rejects(conn.sendRequest(P.TrainStart, { config: { train: { epochs: 0 } } }), (err: ResponseError<void>) => {
      assert.equal(err.code, P.ErrorCodes.invalidConfig);
      assert.match(err.message, /field "train.epochs"/);
      return true;
    });
    await assert.rejects(conn.sendRequest('no/such/method', {}), (err: ResponseError<void>) => err.code === -32601);
  });
});
