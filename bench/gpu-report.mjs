// The GPU check's figures as Markdown (bench/gpu-check.sh runs it): the bench rows beside wasm on the
// same machine and beside the wasm figures recorded on the project's 2-core machine (wasm-reference.json),
// then the training run against the recorded wasm runs. Reads what gpu-check.sh wrote; judges nothing it lacks.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const out = process.argv[2] ?? 'gpu-check-out';
const read = (f) => { try { return readFileSync(path.join(out, f), 'utf8'); } catch { return undefined; } };
const ref = JSON.parse(readFileSync(new URL('./wasm-reference.json', import.meta.url), 'utf8'));
const bench = (read('bench.jsonl') ?? '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const summary = read('summary.json') ? JSON.parse(read('summary.json')) : undefined;
const backends = read('backends.json') ? JSON.parse(read('backends.json')) : undefined;
const n1 = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(1) : '–');
const x = (a, b) => (a > 0 && b > 0 ? `${(a / b).toFixed(1)}×` : '–');
const lines = [];

const web = backends?.backends?.find((b) => b.name === 'webgpu');
// A software adapter (a rehearsal on SwiftShader) measures the packing, not a GPU: no goal is judged on it.
const software = /software/i.test(web?.detail ?? '') || /software adapter/.test(summary?.backendNote ?? '') || bench.some((r) => /swiftshader|lavapipe|llvmpipe/i.test(r.adapter ?? ''));
const notJudged = 'software WebGPU adapter: its figures say nothing about a GPU';
lines.push(`# GPU check`, '', `- webgpu: ${web ? `${web.available ? 'available' : 'unavailable'}: ${web.detail}` : 'keypoints backends gave nothing (see env.txt)'}`);
const m = bench[0]?.machine;
if (m) lines.push(`- machine: ${m.cpus} × ${m.cpuModel}, Node ${m.node}, load ${m.loadAverage?.map((l) => l.toFixed(1)).join(' ')}`);
lines.push('', '## Bench (the trainer\'s step: makeBatch + trainStep)', '');
if (!bench.length) lines.push('No bench records (see env.txt).');
else {
  lines.push('| network | backend | batch | adapter | train img/s | × wasm here | × wasm 2-core | infer img/s (b64) | predict ms (b1) |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of bench) {
    const here = bench.find((b) => b.network === r.network && b.backend === 'wasm');
    const two = ref.bench[r.network];
    lines.push(`| ${r.network} | ${r.backend} | ${r.batch} | ${r.adapter ?? '–'} | ${n1(r.trainImagesPerSec)} | ${r.backend === 'wasm' ? '1.0×' : x(r.trainImagesPerSec, here?.trainImagesPerSec)} | ${x(r.trainImagesPerSec, two?.trainImagesPerSec)} | ${n1(r.inferImagesPerSec)} | ${n1(r.predictMs)} |`);
  }
  const best = Math.max(0, ...bench.filter((r) => r.network === 'seed' && r.backend === 'webgpu').map((r) => r.trainImagesPerSec));
  const goal = ref.goals.seedTrainSpeedupOverReference * ref.bench.seed.trainImagesPerSec;
  if (software) lines.push('', `Goal, seed training ≥ ${ref.goals.seedTrainSpeedupOverReference}× the 2-core wasm figure: **not judged** (${notJudged}).`);
  else if (!best) lines.push('', 'Goal, seed training speed: **not judged** (no seed-network webgpu row).');
  else lines.push('', `Goal, seed training ≥ ${ref.goals.seedTrainSpeedupOverReference}× the 2-core wasm figure (${ref.bench.seed.trainImagesPerSec} img/s, ${ref.bench.seed.measured}), i.e. ≥ ${goal.toFixed(0)} img/s: **${best >= goal ? 'met' : 'not met'}** (${best.toFixed(1)} img/s).`);
}
lines.push('', '## Training run on webgpu', '');
if (!summary) lines.push('No summary.json (see train.log).');
else {
  const s = summary;
  lines.push(`${s.preset} preset, ${s.trainCount} train / ${s.valCount} validation faces: ${s.epochsRun} epochs in ${n1(s.minutes ?? s.seconds / 60)} min (${s.reason}), ${n1(s.imagesPerSecond)} img/s, best validation RMSE **${s.bestValRmse?.toFixed?.(3) ?? '–'} px** (epoch ${s.bestEpoch}).`);
  lines.push('', 'Recorded wasm runs on the 2-core machine (faces96, same split):', '');
  for (const r of ref.runs) lines.push(`- ${r.what}: ${r.epochs} epochs${r.minutes ? ` in ${r.minutes} min` : ''}, ${r.imagesPerSecond} img/s, ${r.bestValRmse} px`);
  const g = ref.goals;
  const full = s.trainCount + s.valCount >= 3400;
  if (software) lines.push('', `Goal, the default preset's run in under ${g.defaultRunMinutes} min: **not judged** (${notJudged}).`);
  else if (s.preset === 'default' && full) lines.push('', `Goal, the default preset's 15-minute run in under ${g.defaultRunMinutes} min at ≤ ${g.defaultRunRmseAtMost} px: **${(s.minutes ?? s.seconds / 60) <= g.defaultRunMinutes && s.bestValRmse <= g.defaultRunRmseAtMost ? 'met' : 'not met'}**.`);
  else lines.push('', `Goal, the default preset's run in under ${g.defaultRunMinutes} min: **not judged** (${s.preset} preset on ${s.trainCount + s.valCount} faces, not the default preset on all of faces96).`);
}
process.stdout.write(lines.join('\n') + '\n');
