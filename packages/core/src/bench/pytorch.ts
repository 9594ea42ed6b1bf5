import { spawnSync, spawn } from 'node:child_process';
import type { ModelConfig } from '../config/schema.js';
import { PYTORCH_BENCH_SCRIPT } from './pytorch-script.js';

/** Debian's interpreter: python3-torch is installed for it, not for pyenv/venv pythons on PATH. */
export const PYTORCH_PYTHON = '/usr/bin/python3';
export const PYTORCH_APT_PACKAGES = ['python3-torch', 'libopenblas0-pthread'];

export type PytorchStatus = { ok: true; version: string; installed: boolean } | { ok: false; reason: string };

function torchVersion(): { version?: string; error?: string } {
  const r = spawnSync(PYTORCH_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) return { error: `${PYTORCH_PYTHON}: ${r.error.message}` };
  if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').pop() || `exit code ${r.status}` };
  return { version: r.stdout.trim() };
}

function apt(args: string[], log: (msg: string) => void): string | undefined {
  log(`running apt-get ${args.join(' ')}`);
  const r = spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 30 * 60_000 });
  if (r.error) return `apt-get: ${r.error.message}`;
  if (r.status !== 0) return `apt-get ${args[0]} failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-2).join(' ')}`;
  return undefined;
}

/**
 * Makes Debian's PyTorch available for the side-by-side figures: checks `import torch` under
 * /usr/bin/python3 and, when missing and `install` is set, runs `apt-get update` and
 * `apt-get install python3-torch libopenblas0-pthread` (root only). Never throws: the bench
 * runs without PyTorch and says why.
 */
export function ensurePytorch(opts: { install: boolean; log: (msg: string) => void }): PytorchStatus {
  const first = torchVersion();
  if (first.version) return { ok: true, version: first.version, installed: false };
  const missing = `PyTorch is not importable by ${PYTORCH_PYTHON} (${first.error})`;
  if (!opts.install) return { ok: false, reason: `${missing}; install it with: sudo apt-get install ${PYTORCH_APT_PACKAGES.join(' ')}` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { ok: false, reason: `${missing}, and installing it needs root: run sudo apt-get update && sudo apt-get install -y ${PYTORCH_APT_PACKAGES.join(' ')}` };
  }
  const err = apt(['update'], opts.log) ?? apt(['install', '-y', '--no-install-recommends', ...PYTORCH_APT_PACKAGES], opts.log);
  if (err) return { ok: false, reason: `${missing}; installing it failed: ${err}` };
  const again = torchVersion();
  if (again.version) return { ok: true, version: again.version, installed: true };
  return { ok: false, reason: `${missing}; installed ${PYTORCH_APT_PACKAGES.join(' ')} but import still fails: ${again.error}` };
}

export interface PytorchSpec {
  model: ModelConfig;
  imageSize: number;
  outputs: number;
  batchSize: number;
  threads: number;
  warmupSteps: number;
  trainSteps: number;
  inferRuns: number;
  predictRuns: number;
  missingFraction: number;
  seed: number;
}

export interface PytorchResult {
  torchVersion: string;
  threads: number;
  trainImagesPerSec: number;
  inferImagesPerSec: number;
  predictLatencyMs: number;
  peakRssMB: number;
}

/** Runs the PyTorch side in a child process with `threads` intra-op threads (BLAS and OpenMP too). */
export function runPytorch(spec: PytorchSpec): Promise<PytorchResult> {
  const t = String(spec.threads);
  return new Promise((resolve, reject) => {
    const child = spawn(PYTORCH_PYTHON, ['-', JSON.stringify(spec)], {
      env: { ...process.env, OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`PyTorch bench exited with code ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as PytorchResult);
      } catch {
        reject(new Error(`PyTorch bench printed no result: ${out.slice(-300)} ${err.slice(-300)}`));
      }
    });
    child.stdin.end(PYTORCH_BENCH_SCRIPT);
  });
}
