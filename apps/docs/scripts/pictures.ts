/**
 * Makes the documentation pictures from a real run (run by hand, not by the build: it needs a
 * trained run and real data, which the repository does not hold):
 *
 *   node --import tsx apps/docs/scripts/pictures.ts RUN_DIR DATA_FILE
 *
 * writes into apps/docs/public/pictures/:
 *   learning-curve.png     the run's own curves.png
 *   per-keypoint-rmse.svg  per-keypoint RMSE from `keypoints evaluate --json` on the rows of DATA_FILE the
 *                          run never saw (neither trained nor validated on), beside the mean-position baseline
 *   predictions.png        a few of those unseen faces with true and predicted keypoints
 *   pictures.json          what was measured, for the captions
 * The held-out rows are written to a temporary Kaggle-layout CSV (never into the repository).
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodePng,
  grayToRgba,
  initBackend,
  loadRun,
  loadTrainingData,
  predictFaceSet,
  readFaceSet,
  resolveConfig,
  subset,
  svgToPng,
  writeKaggleCsv,
  type FaceSet,
} from '@keypoints/core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const outDir = path.resolve(here, '../public/pictures');

interface EvalJson {
  rmse: number;
  count: number;
  rows: number;
  perKeypoint: Record<string, { rmse: number; count: number }>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Per keypoint: RMSE (px) of always answering the training rows' mean position. */
function meanBaseline(train: FaceSet, test: FaceSet): Record<string, number> {
  const K = train.keypoints.length;
  const out: Record<string, number> = {};
  train.keypoints.forEach((name, k) => {
    const mean = [0, 1].map((c) => {
      let s = 0, n = 0;
      for (let r = 0; r < train.count; r++) {
        const v = train.coords[(r * K + k) * 2 + c]!;
        if (!Number.isNaN(v)) (s += v), n++;
      }
      return s / n;
    });
    let se = 0, n = 0;
    for (let r = 0; r < test.count; r++) {
      for (const c of [0, 1]) {
        const v = test.coords[(r * K + k) * 2 + c]!;
        if (!Number.isNaN(v)) (se += (v - mean[c]!) ** 2), n++;
      }
    }
    out[name] = Math.sqrt(se / n);
  });
  return out;
}

/** Horizontal bar chart: one pair of bars (model, baseline) per keypoint. Plain SVG, no fonts to fetch. */
function barChart(ev: EvalJson, baseline: Record<string, number>, title: string): string {
  const names = Object.keys(ev.perKeypoint);
  const rowH = 26, left = 190, plotW = 470, top = 56, H = top + names.length * rowH + 48, W = left + plotW + 80;
  const max = Math.ceil(Math.max(...names.map((n) => Math.max(ev.perKeypoint[n]!.rmse, baseline[n]!))));
  const x = (v: number) => left + (v / max) * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${left}" y="32" width="12" height="10" fill="#2f6fb3"/><text x="${left + 18}" y="41">model (overall ${ev.rmse.toFixed(2)} px)</text>`,
    `<rect x="${left + 210}" y="32" width="12" height="10" fill="#bbb"/><text x="${left + 228}" y="41">mean-position baseline</text>`,
  ];
  for (let t = 0; t <= max; t++) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${top - 4}" y2="${top + names.length * rowH}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${x(t)}" y="${top + names.length * rowH + 16}" text-anchor="middle" fill="#555">${t}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${H - 10}" text-anchor="middle" fill="#333">RMSE in pixels of the 96×96 image</text>`);
  names.forEach((n, i) => {
    const y = top + i * rowH, m = ev.perKeypoint[n]!.rmse, b = baseline[n]!;
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(n)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 3}" width="${x(m) - left}" height="10" fill="#2f6fb3"><title>${esc(n)}: ${m.toFixed(2)} px</title></rect>`);
    parts.push(`<rect x="${left}" y="${y + 14}" width="${x(b) - left}" height="7" fill="#bbb"><title>baseline ${b.toFixed(2)} px</title></rect>`);
    parts.push(`<text x="${x(Math.max(m, b)) + 5}" y="${y + 13}" fill="#333">${m.toFixed(2)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Faces side by side, each scaled ×3: true keypoints as green rings, predictions as red dots, joined by a line. */
function facesSvg(set: FaceSet, pred: Float32Array, caption: string): string {
  const S = set.width, scale = 3, cellW = S * scale, gap = 12, K = set.keypoints.length;
  const W = set.count * cellW + (set.count - 1) * gap, H = cellW + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
  ];
  for (let r = 0; r < set.count; r++) {
    const ox = r * (cellW + gap);
    const png = Buffer.from(encodePng(grayToRgba(set.pixels.subarray(r * S * S, (r + 1) * S * S), S, S))).toString('base64');
    parts.push(`<image x="${ox}" y="0" width="${cellW}" height="${cellW}" image-rendering="optimizeQuality" xlink:href="data:image/png;base64,${png}"/>`);
    for (let k = 0; k < K; k++) {
      const tx = set.coords[(r * K + k) * 2]!, ty = set.coords[(r * K + k) * 2 + 1]!;
      const px = pred[(r * K + k) * 2]!, py = pred[(r * K + k) * 2 + 1]!;
      if (!Number.isNaN(tx)) {
        parts.push(`<line x1="${ox + tx * scale}" y1="${ty * scale}" x2="${ox + px * scale}" y2="${py * scale}" stroke="#ffd54a" stroke-width="1.5"/>`);
        parts.push(`<circle cx="${ox + tx * scale}" cy="${ty * scale}" r="5" fill="none" stroke="#22c55e" stroke-width="2"/>`);
      }
      parts.push(`<circle cx="${ox + px * scale}" cy="${py * scale}" r="3" fill="#ef4444" stroke="#000" stroke-width="0.6"/>`);
    }
  }
  parts.push(`<text x="0" y="${cellW + 20}" fill="#333">${esc(caption)}</text>`, '</svg>');
  return parts.join('\n');
}

async function main(): Promise<void> {
  const [runDir, dataFile] = process.argv.slice(2);
  if (!runDir || !dataFile) throw new Error('usage: pictures.ts RUN_DIR DATA_FILE');
  await mkdir(outDir, { recursive: true });
  const tmp = await mkdtemp(path.join(tmpdir(), 'kp-docs-pictures-'));
  try {
    // The run's own rows (train + validation), recovered from its saved config exactly as the trainer chose them.
    const config = resolveConfig(JSON.parse(await readFile(path.join(runDir, 'config.json'), 'utf8')), 'config.json');
    const { train, all: used } = await loadTrainingData(config);
    const usedRows = new Set(used.rows);
    const full = await readFaceSet(dataFile);
    const unseen = subset(full, [...Array(full.count).keys()].filter((i) => !usedRows.has(full.rows[i]!)));
    const holdout = path.join(tmp, 'holdout.csv');
    await writeKaggleCsv(unseen, holdout);

    // Per-keypoint errors through the CLI, exactly as a user would get them.
    const cli = path.join(repo, 'packages/cli/dist/keypoints.js');
    const ev = JSON.parse(execFileSync(process.execPath, [cli, 'evaluate', '--model', runDir, '--data', holdout, '--json'], { encoding: 'utf8' })) as EvalJson;
    const baseline = meanBaseline(train, unseen);
    const baseAll = Math.sqrt(Object.keys(baseline).reduce((s, n) => s + baseline[n]! ** 2 * ev.perKeypoint[n]!.count, 0) / ev.count);
    const summary = JSON.parse(await readFile(path.join(runDir, 'summary.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(
      path.join(outDir, 'per-keypoint-rmse.svg'),
      barChart(ev, baseline, `Per-keypoint RMSE on ${unseen.count} unseen faces (${summary.preset} preset, ${summary.epochsRun} epochs)`),
    );

    // A few unseen faces with every keypoint labelled.
    const K = unseen.keypoints.length;
    const complete = [...Array(unseen.count).keys()].filter((r) => [...Array(K * 2).keys()].every((j) => !Number.isNaN(unseen.coords[r * K * 2 + j]!)));
    const picks = subset(unseen, [0, 1, 2, 3].map((i) => complete[Math.floor(((i + 0.5) * complete.length) / 4)]!));
    await initBackend('auto');
    const run = await loadRun(runDir);
    const pred = await predictFaceSet(run, picks);
    const png = await svgToPng(facesSvg(picks, pred, 'green rings: true keypoints · red dots: predicted · yellow lines: the error'));
    await writeFile(path.join(outDir, 'predictions.png'), png);

    await copyFile(path.join(runDir, 'curves.png'), path.join(outDir, 'learning-curve.png'));
    const facts = {
      run: { preset: summary.preset, epochsRun: summary.epochsRun, trainCount: summary.trainCount, valCount: summary.valCount, bestValRmse: summary.bestValRmse, minutes: summary.minutes, data: path.basename(dataFile) },
      unseenRows: unseen.count,
      evaluateRmse: ev.rmse,
      meanBaselineRmse: baseAll,
      pictureRows: Array.from(picks.rows),
    };
    await writeFile(path.join(outDir, 'pictures.json'), JSON.stringify(facts, null, 2) + '\n');
    console.log(JSON.stringify(facts));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
