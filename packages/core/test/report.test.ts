import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { curvesSvg, decodeImage, niceTicks, tickLabels, overlaySvg, renderOverlay, shortLabel, writeCurves } from '../src/index.ts';
import type { EpochMetrics, RgbaImage } from '../src/index.ts';
import { tempDir } from './fixtures/files.ts';

const dir = tempDir('kp-report-');
after(() => rmSync(dir, { recursive: true, force: true }));

function metrics(n: number): EpochMetrics[] {
  return Array.from({ length: n }, (_, i) => ({
    epoch: i + 1,
    epochs: n,
    trainLoss: 0.05 * 0.7 ** i,
    valLoss: 0.06 * 0.75 ** i,
    valRmse: 5 - 0.3 * i,
    learningRate: 1e-3 * 0.95 ** i,
    seconds: 2,
    imagesPerSecond: 100,
    elapsedSeconds: 2 * (i + 1),
    best: true,
  }));
}

/** Pixels within `tol` of an RGB colour. */
function countColour(img: RgbaImage, hex: string, tol = 40): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < img.width * img.height; i++) {
    const d = img.data;
    if (Math.abs(d[4 * i]! - r!) + Math.abs(d[4 * i + 1]! - g!) + Math.abs(d[4 * i + 2]! - b!) < tol) n++;
  }
  return n;
}

describe('learning curves', () => {
  test('writeCurves writes a small self-contained curves.html and a curves.png with every series, atomically', async () => {
    const m = metrics(8);
    await writeCurves(dir, m);
    assert.deepEqual(readdirSync(dir).sort(), ['curves.html', 'curves.png']);

    const html = readFileSync(path.join(dir, 'curves.html'), 'utf8');
    assert.ok(html.length < 100_000, `${html.length} characters: no chart library inlined into every run folder`);
    assert.doesNotMatch(html, /<script/, 'no scripts: opens offline');
    for (const s of ['Loss (masked MSE, normalised coordinates)', 'Validation RMSE', 'Learning rate']) assert.ok(html.includes(s), s);
    // Every marker names its value on hover.
    assert.ok(html.includes(`<title>val RMSE, epoch 4: ${Number(m[3]!.valRmse.toPrecision(5))}</title>`));

    const png = decodeImage(readFileSync(path.join(dir, 'curves.png')), 'curves.png');
    assert.equal(png.width, 900);
    assert.ok(png.height >= 600);
    // Each series' colour is drawn (lines, markers and legend), the axes' text is dark grey.
    for (const c of ['#1f77b4', '#d62728', '#2ca02c', '#9467bd']) assert.ok(countColour(png, c) > 200, `${c}: ${countColour(png, c)} pixels`);
    assert.ok(countColour(png, '#444444', 60) > 500);
  });

  test('the SVG has titled panels, axis labels and a log loss axis', () => {
    const svg = curvesSvg(metrics(5), 'run <x>');
    for (const s of ['Loss (masked MSE, normalised coordinates)', 'Validation RMSE', 'Learning rate', '>epoch<', '>pixels<', 'run &lt;x&gt;', 'best epoch 5']) assert.ok(svg.includes(s), s);
  });

  test('one epoch and non-finite values still draw', async () => {
    const one = metrics(1);
    one[0]!.valLoss = NaN;
    await writeCurves(path.join(dir, 'one'), one, { html: false });
    const png = decodeImage(readFileSync(path.join(dir, 'one', 'curves.png')), 'curves.png');
    assert.ok(countColour(png, '#1f77b4') > 20);
  });

  test('ticks: 1-2-5 on a log axis, round steps on a linear one', () => {
    assert.deepEqual(niceTicks(0.004, 0.06, true), [0.005, 0.01, 0.02, 0.05]);
    assert.deepEqual(niceTicks(0.0071, 0.0197, true), [0.008, 0.009, 0.01, 0.015]);
    assert.deepEqual(niceTicks(4.52, 4.535, true), [4.52, 4.525, 4.53, 4.535]);
    // A flat series with float noise (a constant learning rate) ends with a few ticks around it.
    for (const log of [true, false]) {
      const t = niceTicks(0.1, 0.10000000000000002, log);
      assert.ok(t.length >= 3 && t.length <= 12 && t.some((v) => Math.abs(v - 0.1) < 1e-12), String(t));
    }
    assert.deepEqual(niceTicks(0.003, 0.003, false).length > 2, true);
    // Labels carry just the digits that tell ticks apart.
    assert.deepEqual(tickLabels([4.526, 4.527, 4.528]), ['4.526', '4.527', '4.528']);
    assert.deepEqual(tickLabels([0, 0.0002, 0.0004]), ['0', '0.0002', '0.0004']);
    assert.deepEqual(tickLabels([0.005, 0.01, 0.02]), ['0.005', '0.01', '0.02']);
    assert.deepEqual(tickLabels([1e-5, 1e-4]), ['1e-5', '0.0001']);
    assert.deepEqual(niceTicks(2.1, 4.9, false), [2.5, 3, 3.5, 4, 4.5]);
    assert.deepEqual(niceTicks(0, 10, false), [0, 2, 4, 6, 8, 10]);
  });
});

describe('overlays', () => {
  const grey = (w: number, h: number, v = 128): RgbaImage => ({ width: w, height: h, data: new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : v)) });

  test('short labels', () => {
    assert.equal(shortLabel('left_eye_inner_corner'), 'L eye inner');
    assert.equal(shortLabel('right_eyebrow_outer_end'), 'R eyebrow outer');
    assert.equal(shortLabel('nose_tip'), 'nose');
    assert.equal(shortLabel('mouth_left_corner'), 'mouth L');
    assert.equal(shortLabel('mouth_center_bottom_lip'), 'mouth bottom lip');
    assert.equal(shortLabel('pt_17'), 'pt 17');
  });

  test('a 96 px face is scaled up and every keypoint drawn where it belongs, with a label', async () => {
    const pts = [
      { name: 'left_eye_center', x: 66, y: 38 },
      { name: 'right_eye_center', x: 30, y: 38 },
      { name: 'nose_tip', x: 48, y: 60 },
      { name: 'mouth_left_corner', x: 62, y: 78 },
      { name: 'missing_one', x: NaN, y: NaN },
    ];
    const png = decodeImage(await renderOverlay(grey(96, 96), pts), 'o.png');
    assert.deepEqual([png.width, png.height], [480, 480]);
    const at = (x: number, y: number) => Array.from(png.data.subarray(4 * (Math.round(y * 5) * 480 + Math.round(x * 5)), 4 * (Math.round(y * 5) * 480 + Math.round(x * 5)) + 3));
    assert.deepEqual(at(66, 38), [0x00, 0xe6, 0x76]); // left: green marker centre
    assert.deepEqual(at(30, 38), [0xff, 0x40, 0x81]); // right: pink
    assert.deepEqual(at(48, 60), [0xff, 0xd6, 0x00]); // centre line: yellow
    // Away from markers and labels the picture is the image.
    assert.deepEqual(at(5, 92), [128, 128, 128]);
    const svg = overlaySvg(grey(96, 96), pts);
    assert.equal((svg.match(/<text /g) ?? []).length, 4);
    assert.ok(svg.includes('<title>mouth_left_corner</title>'));
  });

  test('labels of neighbouring points do not overlap', () => {
    // Three points a few pixels apart, as an eye's centre and corners are.
    const pts = [
      { name: 'left_eye_center', x: 60, y: 40 },
      { name: 'left_eye_inner_corner', x: 56, y: 40 },
      { name: 'left_eye_outer_corner', x: 64, y: 41 },
    ];
    const svg = overlaySvg(grey(96, 96), pts);
    const texts = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)" font-size="([\d.]+)"[^>]*>([^<]+)</g)].map((m) => {
      const x = Number(m[1]), y = Number(m[2]), size = Number(m[4]), w = m[5]!.length * size * 0.55;
      const x0 = m[3] === 'start' ? x : m[3] === 'end' ? x - w : x - w / 2;
      return { x0, x1: x0 + w, y0: y - size * 0.8, y1: y + size * 0.2 };
    });
    assert.equal(texts.length, 3);
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i]!, b = texts[j]!;
        const ov = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
        assert.equal(ov, 0, `labels ${i} and ${j} overlap`);
      }
    }
  });

  test('a large photo keeps its size; several faces and reference rings are drawn', async () => {
    const faces = [
      [{ name: 'nose_tip', x: 100, y: 100 }],
      [{ name: 'nose_tip', x: 500, y: 300 }],
    ];
    const png = decodeImage(await renderOverlay(grey(800, 600, 30), faces, { truth: [{ name: 'nose_tip', x: 300, y: 300 }] }), 'o.png');
    assert.deepEqual([png.width, png.height], [800, 600]);
    const px = (x: number, y: number) => Array.from(png.data.subarray(4 * (y * 800 + x), 4 * (y * 800 + x) + 3));
    assert.deepEqual(px(100, 100), [0xff, 0xd6, 0x00]);
    assert.deepEqual(px(500, 300), [0xff, 0xd6, 0x00]);
    assert.ok(countColour({ ...png, data: png.data }, '#00b0ff') > 30, 'reference ring drawn');
  });
});
