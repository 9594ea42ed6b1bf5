// Every `npx keypoints …` line of README.md and the getting-started page, run as written in a scratch
// folder inside the repository (so npx finds the workspace's keypoints bin, as a reader's would).
// Only what a line cannot mean literally is changed, and the test says how: placeholders (runs/<run>,
// sweeps/…) become the folders the earlier lines made, a line that trains gets `--epochs 1 --limit
// 200` appended (a sweep `--epochs 1 --limit 48`: it trains six runs), and the data files the docs name (training.csv, face.jpg, test.csv,
// IdLookupTable.csv; ../shared/data/faces96 when absent) are generated fixtures.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeJpeg, grayToRgba, syntheticFaceSet, writeKaggleCsv } from '../packages/core/src/index.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DOCS = ['README.md', 'apps/docs/guide/getting-started.md'];
const work = path.join(ROOT, 'test-output', `docs-commands-${process.pid}`);
const FACES96 = path.resolve(ROOT, '../shared/data/faces96/train.csv.gz');

/** The `npx keypoints …` commands of a markdown file: lines of code blocks and inline code spans (which may wrap). */
export function docCommands(markdown: string): string[] {
  const out: string[] = [];
  const blocks = markdown.split(/^```/m);
  blocks.forEach((part, i) => {
    if (i % 2 === 1) {
      for (const line of part.split('\n').slice(1)) if (/^npx keypoints /.test(line)) out.push(line.replace(/\s+#.*$/, '').trim());
      return;
    }
    // Prose: inline code spans, joined across line breaks.
    for (const m of part.replace(/\n/g, ' ').matchAll(/`([^`]*npx keypoints [^`]*)`/g)) out.push(m[1]!.replace(/\s+/g, ' ').trim());
  });
  return out;
}

/** Placeholders that stand for a whole family of commands, not one to run. */
const isTemplate = (cmd: string) => /npx keypoints …|<command>/.test(cmd);

function sh(cmd: string) {
  const r = spawnSync('bash', ['-c', cmd], { cwd: work, encoding: 'utf8', timeout: 600_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

const newest = (folder: string) =>
  readdirSync(path.join(work, folder))
    .map((n) => path.join(folder, n))
    .sort((a, b) => statSync(path.join(work, b)).mtimeMs - statSync(path.join(work, a)).mtimeMs)[0]!;

describe('the docs\' keypoints commands run as written', () => {
  before(async () => {
    assert.ok(existsSync(path.join(ROOT, 'packages/cli/dist/keypoints.js')), 'build the CLI first (npm run build)');
    mkdirSync(work, { recursive: true });
    const faces = syntheticFaceSet({ count: 240, seed: 12 });
    await writeKaggleCsv(faces, path.join(work, 'training.csv'));
    writeFileSync(path.join(work, 'face.jpg'), encodeJpeg(grayToRgba(faces.pixels.subarray(0, 96 * 96), 96, 96)));
    const pixels = (i: number) => Array.from(faces.pixels.subarray(i * 9216, (i + 1) * 9216), (v) => Math.round(v * 255)).join(' ');
    writeFileSync(path.join(work, 'test.csv'), `ImageId,Image\n1,${pixels(0)}\n2,${pixels(1)}\n`);
    writeFileSync(path.join(work, 'IdLookupTable.csv'), 'RowId,ImageId,FeatureName,Location\n1,1,left_eye_center_x,\n2,2,nose_tip_y,\n');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const commands = DOCS.flatMap((f) => docCommands(readFileSync(path.join(ROOT, f), 'utf8')).map((cmd) => ({ file: f, cmd })));

  test('the docs name the commands a newcomer runs', () => {
    const verbs = new Set(commands.map((c) => /npx keypoints (\w+)/.exec(c.cmd)?.[1]));
    for (const v of ['train', 'evaluate', 'predict', 'submit', 'config', 'completion', 'sweep', 'compare']) assert.ok(verbs.has(v), `no npx keypoints ${v} line`);
  });

  // Trainings first (the later lines use their run folders), then the rest in the docs' order.
  const order = (c: { cmd: string }) => (/npx keypoints (train|sweep) /.test(c.cmd + ' ') ? (/sweep/.test(c.cmd) ? 1 : 0) : /compare/.test(c.cmd) ? 3 : 2);
  for (const { file, cmd } of [...commands].filter((c) => !isTemplate(c.cmd)).sort((a, b) => order(a) - order(b))) {
    test(`${file}: ${cmd}`, () => {
      let run = cmd;
      if (!existsSync(FACES96)) run = run.replaceAll('../shared/data/faces96/train.csv.gz', 'training.csv');
      else run = run.replaceAll('../shared/data/faces96/train.csv.gz', FACES96);
      if (run.includes('runs/<run>')) run = run.replaceAll('runs/<run>', newest('runs'));
      if (run.includes('sweeps/…')) run = run.replaceAll('sweeps/…', newest('sweeps'));
      // A sweep trains one run per combination (6 in the README): fewer rows each.
      if (/npx keypoints train( |$)/.test(run)) run += ' --epochs 1 --limit 200';
      if (/npx keypoints sweep /.test(run)) run += ' --epochs 1 --limit 48';
      const r = sh(run);
      // evaluate --max-rmse exits 4 when the model misses the gate, as the docs say: a 1-epoch model may.
      const ok = r.code === 0 || (/ evaluate .*--max-rmse/.test(run) && r.code === 4);
      assert.ok(ok, `${run}\nexit ${r.code}\n${r.out.slice(-1500)}`);
      if (/ submit /.test(run)) assert.match(readFileSync(path.join(work, 'submission.csv'), 'utf8'), /^RowId,Location\n1,/);
      if (/ predict .*--overlay/.test(run)) assert.ok(existsSync(path.join(work, 'face-keypoints.png')));
      if (/completion bash/.test(run)) assert.equal(r.code, 0);
    });
  }
});
