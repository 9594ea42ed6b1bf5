import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { decodeImage, DEFAULT_DETECTOR, DEFAULT_SECOND_LOOK, FACE_API_INIT, DEFAULT_MIN_SCORE, DETECT_MODES, DETECTOR_FILES, ExitCode, grayToRgba, InputError, initBackend, isImageFile, openPredictModel, predictImageFiles, predictKaggleTest, READY_MODEL, renderOverlay, writeFileAtomic } from '@keypoints/core';
import type { BackendName, DetectMode, Tta, DetectorName, ImagePrediction, LabelledPoint, OverlayBox, RgbaImage } from '@keypoints/core';
import { RUNS_FOLDER } from '../newest-run.js';
import { note } from '../style.js';
import { backendOption, jsonOption, ttaOption } from '../program.js';

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

const round = (v: number) => Math.round(v * 100) / 100;
const roundPoints = (pts: LabelledPoint[]) => pts.map((k) => ({ name: k.name, x: round(k.x), y: round(k.y) }));

function probability(v: string): number {
  const p = Number(v);
  if (!(p > 0 && p < 1)) throw new InvalidArgumentError('expected a number between 0 and 1 (exclusive)');
  return p;
}

/** "no face found" in words that say what was tried and what to try next. */
export function noFaceMessage(file: string, detector: DetectorName, minScore: number, secondLook?: number): string {
  const other: DetectorName = detector === 'tiny' ? 'ssd' : 'tiny';
  const look = secondLook !== undefined && secondLook < minScore ? `, second look down to ${secondLook}` : '';
  return `${file}: no face found (${detector} detector, min score ${minScore}${look}); try --detector ${other} or a lower --min-score, or --detect off to take the whole image as one face`;
}

/** One line per face for people (stderr, so stdout stays the JSON document). */
function describe(r: ImagePrediction): string {
  if (!r.detected) return `${r.file}: whole image taken as the face (${r.width}×${r.height})`;
  const faces = r.faces.map((f, i) => `  face ${i + 1}: score ${f.score?.toFixed(2)}${f.secondLook ? ' (second look)' : ''}, box ${[f.detection!.x, f.detection!.y, f.detection!.width, f.detection!.height].map((v) => Math.round(v)).join(',')} (x,y,w,h)`);
  return [`${r.file}: ${r.faces.length} face${r.faces.length === 1 ? '' : 's'}`, ...faces].join('\n');
}

/** One record per image (or test.csv row): one JSON line each with --json, else one indented JSON document. */
function print(records: object[], json: boolean | undefined): void {
  process.stdout.write(json ? records.map((r) => JSON.stringify(r)).join('\n') + '\n' : JSON.stringify(records.length === 1 ? records[0] : records, null, 2) + '\n');
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description("Keypoints for PNG/JPEG images of any size (in each image's own pixels), or for every row of Kaggle's test.csv, as JSON.")
    .option('--model <run>', `run folder (holding model.json; default: the newest under ./runs, else ${READY_MODEL}), ${FACE_API_INIT}: face-api's landmark network as npm ships it, untrained here, mapped to Kaggle's 15 keypoints, or ${READY_MODEL}: the same calibrated on faces96 (4.5 % mean NME on its 120 photos against 6.7 %)`)
    .argument('<inputs...>', 'image files (PNG or JPEG, recognised by content), folders of them, or a Kaggle test.csv (.csv, .csv.gz, .zip)')
    .option('--overlay <out>', 'write each image with its keypoints drawn and labelled (and each detected face boxed): a .png file (one image) or a folder')
    .addOption(
      new Option('--detect <mode>', 'find the faces with a face detector: auto = unless the image is exactly the model\'s input size (then it is already a framed face); on; off = the whole image is one face')
        .choices(DETECT_MODES as string[])
        .default('auto'),
    )
    .addOption(new Option('--detector <name>', 'face detector (face-api\'s weights from npm): tiny (fast, found 119 of the 120 test photos\' faces, 120 with the second look) or ssd (SSD MobileNetV1)').choices(Object.keys(DETECTOR_FILES)).default(DEFAULT_DETECTOR))
    .option('--min-score <p>', 'drop detections scoring at or below this', probability, DEFAULT_MIN_SCORE)
    .option('--no-second-look', `when no face scores above --min-score, do not look again down to ${DEFAULT_SECOND_LOOK} (that box is kept only when the model's first points frame a face in it)`)
    .option('--no-refine', 'crop each face from the detector\'s box only (default: re-crop a few times from the last prediction\'s eyes and bottom lip and predict again, so the face sits as in the training crops)')
    .addOption(ttaOption())
    .addOption(backendOption().default('auto'))
    .addOption(jsonOption())
    .action(async (inputs: string[], flags: { model?: string; overlay?: string; backend: BackendName; json?: boolean; detect: DetectMode; detector: DetectorName; minScore: number; refine: boolean; secondLook: boolean; tta: Tta }, cmd: Command) => {
      await initBackend(flags.backend);
      const chosen = await openPredictModel(flags.model, RUNS_FOLDER);
      const run = chosen.model;
      if (chosen.origin === 'newest-run') note(`using the newest run: ${path.relative(process.cwd(), chosen.name) || chosen.name} (pass --model to choose another)`);
      if (chosen.origin === 'ready') note(`no run with a model under ./${RUNS_FOLDER}: ${READY_MODEL} answers (face-api's landmark network, mapped to Kaggle's 15 keypoints and calibrated on faces96); train one (keypoints train) or pass --model RUN_DIR`);
      // Each model's own defaults (see openPredictModel) unless --refine/--no-refine or --tta was given.
      const refine = cmd.getOptionValueSource('refine') === 'default' ? chosen.refine : flags.refine;
      const tta = cmd.getOptionValueSource('tta') === 'default' ? chosen.tta : flags.tta;
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

      const overlays: Array<{ name: string; image: RgbaImage; points: LabelledPoint[][]; boxes?: OverlayBox[] }> = [];
      const records: object[] = [];
      const results = images.length ? await predictImageFiles(run, images, { detect: flags.detect, detector: flags.detector, minScore: flags.minScore, refine, tta, ...(!flags.secondLook && { secondLook: false as const }) }) : [];
      const faceless: string[] = [];
      for (const r of results) {
        const roundBox = <T extends object>(b: T): T => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v])) as T;
        records.push({ ...r, model: chosen.name, faces: r.faces.map((f) => ({ ...f, box: roundBox(f.box), ...(f.detection && { detection: roundBox(f.detection) }), ...(f.score !== undefined && { score: round(f.score) }), keypoints: roundPoints(f.keypoints) })) });
        if (r.detected && r.faces.length === 0) faceless.push(r.file);
        if (!flags.json) process.stderr.write(describe(r) + '\n');
        if (flags.overlay) {
          const boxes = r.faces.flatMap((f) => (f.detection ? [{ ...f.detection, label: `face ${f.score!.toFixed(2)}` }] : []));
          overlays.push({ name: path.basename(r.file).replace(/\.[^.]*$/, ''), image: decodeImage(await readFile(r.file), r.file), points: r.faces.map((f) => f.keypoints), boxes });
        }
      }
      for (const file of tables) {
        const { set, predictions } = await predictKaggleTest(run, file, tta);
        const S = set.width * set.height;
        predictions.forEach((p, r) => {
          records.push({ file, model: chosen.name, imageId: p.imageId, width: set.width, height: set.height, keypoints: roundPoints(p.keypoints) });
          if (flags.overlay) overlays.push({ name: `${path.basename(file).replace(/\..*$/, '')}-${p.imageId}`, image: grayToRgba(set.pixels.subarray(r * S, (r + 1) * S), set.width, set.height), points: [p.keypoints] });
        });
      }
      run.dispose();

      if (flags.overlay) {
        const toDir = overlays.length > 1 || (await isDir(flags.overlay)) || !/\.png$/i.test(flags.overlay);
        if (toDir) await mkdir(flags.overlay, { recursive: true });
        const used = new Map<string, number>();
        for (const o of overlays) {
          const n = (used.get(o.name) ?? 0) + 1; // photos/a.png and more/a.png must not overwrite each other
          used.set(o.name, n);
          const out = toDir ? path.join(flags.overlay, `${o.name}${n > 1 ? `-${n}` : ''}.keypoints.png`) : flags.overlay;
          await writeFileAtomic(out, await renderOverlay(o.image, o.points, { boxes: o.boxes }));
          if (!flags.json) process.stderr.write(`overlay: ${out}\n`);
        }
      }
      print(records, flags.json);
      // Images without a face are reported after the others' results, and the exit code says so.
      for (const f of faceless) process.stderr.write(`keypoints: ${noFaceMessage(f, flags.detector, flags.minScore, flags.secondLook ? DEFAULT_SECOND_LOOK : undefined)}\n`);
      if (faceless.length) process.exitCode = ExitCode.noFace;
    });
}
