// What each backend would do on this machine, without switching to any: `keypoints backends`.
import { locateWasmDir } from './wasm-files.js';
import { probeWebgpuQuietly, webgpuHelp, WEBGPU_SOFTWARE_ENV } from './webgpu.js';

export interface BackendAvailability {
  name: 'webgpu' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  available: boolean;
  /** Whether `auto` would consider it (a software WebGPU adapter is usable only when asked for by name). */
  auto: boolean;
  /** One line: what was found, or why not and what to install. */
  detail: string;
}

async function loadable(pkg: string): Promise<string | undefined> {
  try {
    await import(/* @vite-ignore */ pkg);
    return undefined;
  } catch (err) {
    const msg = String((err as Error)?.message ?? err).split('\n')[0]!;
    return /Cannot find (package|module)/i.test(msg) ? `${pkg} not installed` : `${pkg} failed to load: ${msg}`;
  }
}

/** Every backend in `auto`'s order of preference, then cpu. */
export async function listBackends(): Promise<BackendAvailability[]> {
  const out: BackendAvailability[] = [];
  const gpuPkg: string = '@tensorflow/tfjs-node-gpu';
  const gpuWhy = await loadable(gpuPkg);
  out.push({ name: 'tensorflow-gpu', available: !gpuWhy, auto: !gpuWhy, detail: gpuWhy ? `${gpuWhy} (its install downloads libtensorflow from Google storage, which has refused downloads since August 2026)` : `${gpuPkg} loads` });
  const probe = probeWebgpuQuietly();
  if (probe.ok) {
    out.push({ name: 'webgpu', available: true, auto: !probe.software, detail: probe.software ? `software adapter ${probe.name} (allowed by ${WEBGPU_SOFTWARE_ENV}; auto passes it over)` : `adapter ${probe.name}` });
  } else {
    out.push({ name: 'webgpu', available: false, auto: false, detail: probe.software ? probe.why : `${probe.why}. ${webgpuHelp(probe.why)}` });
  }
  const cpuPkg: string = '@tensorflow/tfjs-node';
  const cpuWhy = await loadable(cpuPkg);
  out.push({ name: 'tensorflow', available: !cpuWhy, auto: !cpuWhy, detail: cpuWhy ?? `${cpuPkg} loads` });
  const wasm = locateWasmDir();
  out.push({ name: 'wasm', available: !!wasm.dir, auto: !!wasm.dir, detail: wasm.dir ? `binaries in ${wasm.dir}` : `binaries not found (looked in ${wasm.tried.join(', ')})` });
  out.push({ name: 'cpu', available: true, auto: false, detail: 'pure JavaScript: slow, for reference and tests' });
  return out;
}
