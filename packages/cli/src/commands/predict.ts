import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { decodeImage, grayToRgba, InputError, initBackend, isImageFile, loadRun, predictImageFiles, predictKaggleTest, renderOverlay, writeFileAtomic } from '@keypoints/core';
import type { BackendName, LabelledPoint, RgbaImage } from '@keypoints/core';
import { backendOption, jsonOption } from '../program.js';

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

const round = (v: number) => Math.round(v * 100) / 100;
const roundPoints = (pts: LabelledPoint[]) => pts.map((k) => ({ name: k.name, x: round(k.x), y: round(k.y) }));

/** One record per image (or test.csv row): one JSON line each with --json, else one indented JSON document. */
function print(records: object[], json: boolean | undefined): void {
  process.stdout.write(json ? records.map((r) => JSON.stringify(r)).join('\n') + '\n' : JSON.stringify(records.length === 1 ? records[0] : records, null, 2) + '\n');
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description("Keypoints for PNG/JPEG images of any size (in each image's own pixels), or for every row of Kaggle's test.csv, as JSON.")
    .requiredOption('--model <run>', 'run folder (holding model.json)')
    .argument('<inputs...>', 'image files (PNG or JPEG, recognised by content), folders of them, or a Kaggle test.csv (.csv, .csv.gz, .zip)')
    .option('--overlay <out>', 'write each image with its keypoints drawn and labelled: a .png file (one image) or a folder')
    .addOption(backendOption().default('auto'))
    .addOption(jsonOption())
    .action(async (inputs: string[], flags: { model: string; overlay?: string; backend: BackendName; json?: boolean }) => {
      await initBackend(flags.backend);
      const run = await loadRun(flags.model);
      // Content decides: PNG/JPEG signatures are images, anything else is read as a test.csv (which names its own problems).
      // A folder stands for the images directly inside it.
      const expanded: string[] = [];
      for (const f of inputs) {
        const st = await stat(f).catch(() => undefined);
        if (!st) throw new InputError({ file: f }, 'no such file');
        if (!st.isDirectory()) {
          expanded.push(f);
          continue;
        }
        const inside: string[] = [];
        for (const name of (await readdir(f)).sort()) {
          const p = path.join(f, name);
          if ((await stat(p)).isFile() && (await isImageFile(p))) inside.push(p);
        }
        if (!inside.length) throw new InputError({ file: f }, 'a folder with no PNG or JPEG images in it');
        expanded.push(...inside);
      }
      const kinds = await Promise.all(expanded.map(async (f) => ((await isImageFile(f)) ? 'image' : 'csv')));
      const images = expanded.filter((_, i) => kinds[i] === 'image');
      const tables = expanded.filter((_, i) => kinds[i] === 'csv');

      const overlays: Array<{ name: string; image: RgbaImage; points: LabelledPoint[][] }> = [];
      const records: object[] = [];
      const results = images.length ? await predictImageFiles(run, images) : [];
      for (const r of results) {
        records.push({ ...r, faces: r.faces.map((f) => ({ ...f, keypoints: roundPoints(f.keypoints) })) });
        if (flags.overlay) overlays.push({ name: path.basename(r.file).replace(/\.[^.]*$/, ''), image: decodeImage(await readFile(r.file), r.file), points: r.faces.map((f) => f.keypoints) });
      }
      for (const file of tables) {
        const { set, predictions } = await predictKaggleTest(run, file);
        const S = set.width * set.height;
        predictions.forEach((p, r) => {
          records.push({ file, imageId: p.imageId, width: set.width, height: set.height, keypoints: roundPoints(p.keypoints) });
          if (flags.overlay) overlays.push({ name: `${path.basename(file).replace(/\..*$/, '')}-${p.imageId}`, image: grayToRgba(set.pixels.subarray(r * S, (r + 1) * S), set.width, set.height), points: [p.keypoints] });
        });
      }
      run.model.dispose();

      if (flags.overlay) {
        const toDir = overlays.length > 1 || (await isDir(flags.overlay)) || !/\.png$/i.test(flags.overlay);
        if (toDir) await mkdir(flags.overlay, { recursive: true });
        const used = new Map<string, number>();
        for (const o of overlays) {
          const n = (used.get(o.name) ?? 0) + 1; // photos/a.png and more/a.png must not overwrite each other
          used.set(o.name, n);
          const out = toDir ? path.join(flags.overlay, `${o.name}${n > 1 ? `-${n}` : ''}.keypoints.png`) : flags.overlay;
          await writeFileAtomic(out, await renderOverlay(o.image, o.points));
          if (!flags.json) process.stderr.write(`overlay: ${out}\n`);
        }
      }
      print(records, flags.json);
    });
}
