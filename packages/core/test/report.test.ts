import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it, test } from 'node:test';
import { curvesSvg, decodeImage, niceTicks, tickLabels, overlaySvg, renderOverlay, renderValFaces, shortLabel, svgToPng, valFacesSvg, worstSvg, writeCurves } from '../src/index.ts';
import type { EpochMetrics, FaceSet, RgbaImage } from '../src/index.ts';
import { tempDir } from './fixtures/files.ts';
import { titleText } from '../src/report/svg.ts';

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

describe('face grids', () => {
  const grey = (w: number, h: number, v = 128): RgbaImage => ({ width: w, height: h, data: new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : v)) });
  const rgb = (img: RgbaImage, x: number, y: number) => Array.from(img.data.subarray(4 * (y * img.width + x), 4 * (y * img.width + x) + 3));

  test('val-faces: 4 to a row at twice the size, captions with the row and RMSE, a prediction off the face still drawn', async () => {
    // 5 faces of 16 px, one keypoint; face 4 has no label; face 1's prediction lies past the image's right edge.
    const set: FaceSet = { source: 't', width: 16, height: 16, keypoints: ['nose_tip'], count: 5, pixels: new Float32Array(5 * 256).fill(0.5), coords: new Float32Array([4, 4, 4, 4, 4, 4, 4, 4, NaN, NaN]), rows: new Int32Array([2, 3, 4, 5, 6]) };
    const pred = new Float32Array([7, 4, 17.5, 8, 4, 4, 4, 4, 8, 8]);
    const svg = valFacesSvg(set, pred);
    assert.match(svg, /row 2: RMSE 2\.12 px/);
    assert.match(svg, /row 6: no labels/);
    const png = decodeImage(await renderValFaces(set, pred), 'v.png');
    assert.deepEqual([png.width, png.height], [4 * (32 + 6) + 6, 30 + 2 * (32 + 18 + 6) + 6]);
    assert.deepEqual(rgb(png, 6 + 14, 30 + 8), [0xff, 0x91, 0x00], 'face 0: the prediction dot at (7, 4) × 2');
    assert.deepEqual(rgb(png, 6 + 38 + 35, 30 + 16), [0xff, 0x91, 0x00], 'face 1: the dot at x = 17.5 × 2 shows in the gap beside the face');
    assert.deepEqual(rgb(png, 6 + 4, 30 + 28), [128, 128, 128], 'away from the marks: the face');
  });

  test('worst faces: 200 px tiles, 4 to a row, captions centred below, marks cut at the tile', async () => {
    const tile = (x: number) => ({ image: grey(16, 16), truth: [{ name: 'nose_tip', x: 8, y: 8 }], predicted: [{ name: 'nose_tip', x, y: 8 }], caption: `x ${x} <&>` });
    const svg = worstSvg([tile(4), tile(16.5)], 'Worst');
    assert.match(svg, /text-anchor="middle" fill="#222">x 4 &lt;&amp;&gt;</);
    const png = decodeImage(await svgToPng(svg), 'w.png');
    assert.deepEqual([png.width, png.height], [4 * 208 + 8, 44 + 200 + 18 + 8 + 8]);
    assert.deepEqual(rgb(png, 8 + 50, 44 + 100), [0xff, 0xd6, 0x00], 'tile 0: the prediction at (4, 8) × 12.5');
    assert.deepEqual(rgb(png, 216 + 204, 44 + 100), [0xfa, 0xfa, 0xfa], 'tile 1: a dot past the tile is not drawn over the gap');
  });
});

describe('titleText', () => {
  it('keeps a long title (a run name) inside the picture by shrinking its font, never below 9 px', () => {
    const size = (t: string) => Number(/font-size="([\d.]+)"/.exec(t)![1]);
    assert.equal(size(titleText('Per keypoint: run-1', 16, 26, 17, 744)), 17);
    const long = 'Cumulative error distribution: 20261203-171615-pretrained on photos (refined, tiny detector)';
    assert.ok(size(titleText(long, 16, 26, 17, 744)) * 0.62 * long.length <= 744 - 16 + 1e-9);
    assert.equal(size(titleText('x'.repeat(1000), 16, 26, 17, 744)), 9);
    assert.match(titleText('a <b> & c', 16, 26, 17, 744), /a &lt;b&gt; &amp; c/);
  });
});
