import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { asKeypointModel, decodeImage, initBackend, loadRun, predictImageFiles, renderOverlay, writeFileAtomic } from '@keypoints/core';
import { readFile } from 'node:fs/promises';
import { jsonOption } from '../program.js';

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description("Keypoints for PNG/JPEG images of any size, in each image's own pixels (JSON).")
    .requiredOption('--model <run>', 'run folder (holding model.json)')
    .argument('<images...>', 'image files (PNG or JPEG, recognised by content)')
    .option('--overlay <out>', 'write the image with keypoints drawn: a .png file (one image) or a folder')
    .option('--backend <name>', 'compute backend', 'auto')
    .addOption(jsonOption())
    .action(async (images: string[], flags: { model: string; overlay?: string; backend: string; json?: boolean }) => {
      await initBackend(flags.backend as 'auto');
      const run = await loadRun(flags.model);
      const results = await predictImageFiles(asKeypointModel(run), images);
      if (flags.overlay) {
        const toDir = images.length > 1 || (await isDir(flags.overlay)) || !/\.png$/i.test(flags.overlay);
        if (toDir) await mkdir(flags.overlay, { recursive: true });
        for (const r of results) {
          const img = decodeImage(await readFile(r.file), r.file);
          const out = toDir ? path.join(flags.overlay, path.basename(r.file).replace(/\.[^.]*$/, '') + '.keypoints.png') : flags.overlay;
          await writeFileAtomic(out, await renderOverlay(img, r.faces.map((f) => f.keypoints)));
          if (!flags.json) process.stderr.write(`overlay: ${out}\n`);
        }
      }
      const round = (v: number) => Math.round(v * 100) / 100;
      const out = results.map((r) => ({ ...r, faces: r.faces.map((f) => ({ ...f, keypoints: f.keypoints.map((k) => ({ name: k.name, x: round(k.x), y: round(k.y) })) })) }));
      process.stdout.write(flags.json ? out.map((r) => JSON.stringify(r)).join('\n') + '\n' : JSON.stringify(out.length === 1 ? out[0] : out, null, 2) + '\n');
    });
}
