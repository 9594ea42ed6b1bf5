// The WebGPU backend: Dawn (the `webgpu` npm package) gives Node a GPU adapter; TF.js's WebGPU backend runs on it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { bufferCap, capBuffers, describeNoAdapter, sizeFailure } from './webgpu-diagnose.js';

/** Set to 1 to accept a software adapter (SwiftShader, lavapipe, llvmpipe, Dawn's fallback): tests on a machine without a GPU. */
export const WEBGPU_SOFTWARE_ENV = 'KEYPOINTS_WEBGPU_ALLOW_SOFTWARE';

/** What the adapter says about itself (GPUAdapterInfo's fields that Dawn fills in). */
export interface WebgpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}

export type WebgpuProbe =
  | { ok: true; name: string; software: boolean; info: WebgpuAdapterInfo }
  | { ok: false; why: string; software?: { name: string } };

// Minimal shapes of Dawn's objects, so core needs no WebGPU type package.
interface Adapter {
  info: WebgpuAdapterInfo;
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor: object): Promise<Device>;
}
interface Device {
  limits: { maxBufferSize: number };
  createBuffer(descriptor: { size: number }): unknown;
  lost: Promise<{ reason: string; message: string }>;
  destroy(): void;
  addEventListener?(type: 'uncapturederror', listener: (e: { error?: { message?: string; constructor?: { name?: string } }; preventDefault?(): void }) => void): void;
}
interface Gpu {
  requestAdapter(options?: object): Promise<Adapter | null>;
}

const WEBGPU_PACKAGES = { dawn: 'webgpu', tfjs: '@tensorflow/tfjs-backend-webgpu' } as const;

export { webgpuHelp } from './webgpu-diagnose.js';

/** Software rasterisers and Dawn's fallback adapter: correct, but slower than wasm, so `auto` never takes them. */
export function isSoftwareAdapter(info: WebgpuAdapterInfo): boolean {
  if (info.isFallbackAdapter) return true;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /swiftshader|lavapipe|llvmpipe|softpipe|warp|microsoft basic render/.test(text);
}

export function adapterName(info: WebgpuAdapterInfo): string {
  const parts = [info.description || info.device, info.vendor && `vendor ${info.vendor}`, info.architecture && `architecture ${info.architecture}`].filter(Boolean);
  return parts.join(', ') || 'unnamed adapter';
}

function allowSoftware(): boolean {
  return /^(1|true|yes)$/i.test(process.env[WEBGPU_SOFTWARE_ENV] ?? '');
}

function missing(err: unknown): boolean {
  return (err as { code?: string })?.code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (package|module)/i.test(String((err as Error)?.message ?? err));
}

let gpu: Promise<Gpu> | undefined;
/** Dawn is loaded in this process already (then a quiet probe in a child process adds nothing). */
export const dawnLoaded = (): boolean => gpu !== undefined;
/** Loads dawn.node once and exposes it as `navigator.gpu` plus the GPU* globals TF.js's backend reads. */
function loadDawn(): Promise<Gpu> {
  gpu ??= (async () => {
    const pkg: string = WEBGPU_PACKAGES.dawn; // a variable, so bundlers leave the optional native package alone
    const dawn = (await import(/* @vite-ignore */ pkg)) as { create(flags: string[]): Gpu; globals: Record<string, unknown> };
    const g = dawn.create([]);
    Object.assign(globalThis, dawn.globals);
    const nav = (globalThis as { navigator?: object }).navigator ?? {};
    if (!(globalThis as { navigator?: object }).navigator) Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
    Object.defineProperty(nav, 'gpu', { value: g, configurable: true });
    return g;
  })();
  gpu.catch(() => (gpu = undefined));
  return gpu;
}

let chosen: Adapter | undefined;

/** Looks for an adapter without starting a backend: what `auto`, `keypoints backends` and the bench report. */
export async function probeWebgpu(options: { hardwareOnly?: boolean } = {}): Promise<WebgpuProbe> {
  let g: Gpu;
  try {
    g = await loadDawn();
  } catch (err) {
    return { ok: false, why: missing(err) ? 'webgpu (Dawn) not installed' : `webgpu (Dawn) failed to load: ${String((err as Error)?.message ?? err).split('\n')[0]}` };
  }
  let adapter: Adapter | null;
  try {
    adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { ok: false, why: `no WebGPU adapter (${String((err as Error)?.message ?? err).split('\n')[0]})` };
  }
  if (!adapter) return { ok: false, why: 'no WebGPU adapter (Dawn found no Vulkan/Metal/D3D12 GPU driver)' };
  const info: WebgpuAdapterInfo = { ...pick(adapter.info), isFallbackAdapter: adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter };
  const software = isSoftwareAdapter(info);
  const name = adapterName(info);
  if (software && (options.hardwareOnly || !allowSoftware())) {
    const allow = options.hardwareOnly ? 'auto never takes one' : `${WEBGPU_SOFTWARE_ENV}=1 allows it`;
    return { ok: false, why: `only a software WebGPU adapter (${name}), slower than wasm; ${allow}`, software: { name } };
  }
  chosen = adapter;
  return { ok: true, name, software, info };
}

/**
 * probeWebgpu in a short child process: Dawn and the Vulkan drivers print warnings on stderr from
 * native code (an unusable lavapipe, a missing XDG_RUNTIME_DIR), which `auto` and `keypoints
 * backends` must not show when WebGPU is not taken. Only a hardware adapter then loads Dawn here.
 */
export function probeWebgpuQuietly(options: { hardwareOnly?: boolean } = {}): WebgpuProbe {
  let url: string;
  try {
    url = pathToFileURL(createRequire(import.meta.url).resolve(WEBGPU_PACKAGES.dawn)).href;
  } catch {
    return { ok: false, why: 'webgpu (Dawn) not installed' };
  }
  const script = `import(${JSON.stringify(url)}).then(async ({ create }) => { const a = await create([]).requestAdapter({ powerPreference: 'high-performance' }); const i = a && a.info; console.log(JSON.stringify(i ? { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter ?? a.isFallbackAdapter } : null)); process.exit(0); }, (e) => { console.log(JSON.stringify({ error: String(e && e.message || e).split('\\n')[0] })); process.exit(0); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  let info: (WebgpuAdapterInfo & { error?: string }) | null;
  try {
    info = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '');
  } catch {
    return { ok: false, why: `the WebGPU probe failed (${r.error?.message ?? `exit ${r.status}`})` };
  }
  if (info?.error) return { ok: false, why: `webgpu (Dawn) failed to load: ${info.error}` };
  if (!info) return { ok: false, why: describeNoAdapter(r.stderr ?? '', process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES) };
  const software = isSoftwareAdapter(info), name = adapterName(info);
  if (software && (options.hardwareOnly || !allowSoftware())) {
    return { ok: false, why: `only a software WebGPU adapter (${name}), slower than wasm; ${options.hardwareOnly ? 'auto never takes one' : `${WEBGPU_SOFTWARE_ENV}=1 allows it`}`, software: { name } };
  }
  return { ok: true, name, software, info };
}

function pick(i: Partial<WebgpuAdapterInfo> | undefined): WebgpuAdapterInfo {
  return { vendor: i?.vendor ?? '', architecture: i?.architecture ?? '', device: i?.device ?? '', description: i?.description ?? '' };
}

/** What went wrong on the GPU device in use, if anything: a lost device, or an allocation it refused (out of memory). */
export interface WebgpuFailure {
  kind: 'lost' | 'memory';
  message: string;
}
let failure: WebgpuFailure | undefined;
/** The device the backend runs on: a failure of an older (dropped) one is not this one's. */
let active: Device | undefined;

/**
 * The device's failure, once there is one (the trainer turns an error into a one-line message with
 * it). TF.js's WebGPU backend opens no error scopes: an allocation the GPU cannot make reaches only
 * the device's uncapturederror event, so that is where out-of-memory is seen.
 */
export function webgpuFailure(): WebgpuFailure | undefined {
  return failure;
}

/** Drops a webgpu backend whose device failed, so the next initBackend('webgpu') opens a new device (resume in the same process). */
export function forgetWebgpu(): void {
  active = undefined;
  failure = undefined;
  if (registered('webgpu')) tf.removeBackend('webgpu');
}

/** A backend factory is registered (tf.findBackend would start initialising it). */
const registered = (name: string): boolean => name in (tf.engine() as unknown as { registryFactory: Record<string, unknown> }).registryFactory;

/**
 * Registers TF.js's WebGPU backend on the adapter probeWebgpu accepted and switches to it.
 * Returns the backend note, or why WebGPU is unusable here.
 */
export async function useWebgpu(options: { hardwareOnly?: boolean } = {}): Promise<{ ok: true; note: string; adapter: string; software: boolean } | { ok: false; why: string }> {
  const probe = await probeWebgpu(options);
  if (!probe.ok) return probe;
  if (!tf.findBackend('webgpu')) {
    let WebGPUBackend: new (device: Device, info: WebgpuAdapterInfo) => tf.KernelBackend;
    try {
      const pkg: string = WEBGPU_PACKAGES.tfjs;
      ({ WebGPUBackend } = (await import(/* @vite-ignore */ pkg)) as { WebGPUBackend: typeof WebGPUBackend });
    } catch (err) {
      return { ok: false, why: missing(err) ? '@tensorflow/tfjs-backend-webgpu not installed' : `@tensorflow/tfjs-backend-webgpu failed to load: ${String((err as Error).message).split('\n')[0]}` };
    }
    const adapter = chosen!;
    // The package registers its own factory on import when navigator.gpu exists; ours checks the adapter first.
    // (Removed already when a failed device was dropped: forgetWebgpu.)
    if (registered('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', async () => {
      // The limits TF.js's own registration asks for: the adapter's, not WebGPU's small defaults.
      const l = adapter.limits;
      const device = await adapter.requestDevice({
        requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
        requiredLimits: {
          maxComputeWorkgroupStorageSize: l['maxComputeWorkgroupStorageSize'],
          maxComputeWorkgroupsPerDimension: l['maxComputeWorkgroupsPerDimension'],
          maxStorageBufferBindingSize: l['maxStorageBufferBindingSize'],
          maxBufferSize: l['maxBufferSize'],
          maxComputeWorkgroupSizeX: l['maxComputeWorkgroupSizeX'],
          maxComputeInvocationsPerWorkgroup: l['maxComputeInvocationsPerWorkgroup'],
        },
      });
      const cap = bufferCap();
      if (cap) capBuffers(device, cap);
      active = device;
      failure = undefined;
      void device.lost.then((e) => {
        if (device === active) failure = { kind: 'lost', message: `${e.reason}${e.message ? `: ${e.message.split('\n')[0]}` : ''}` };
      });
      // Out of memory, or a buffer over the device's limits: the batch does not fit (webgpu-diagnose.ts).
      device.addEventListener?.('uncapturederror', (e) => {
        if (device !== active) return;
        const message = sizeFailure(e.error);
        if (!failure && message !== undefined) failure = { kind: 'memory', message };
        // Dawn prints every uncaptured error unless told not to; once the device has failed, the rest
        // (invalid buffers, command buffers) echo that failure, which the trainer's one line reports.
        if (failure) e.preventDefault?.();
      });
      return new WebGPUBackend(device, adapter.info);
    }, 1);
  }
  let ok = false;
  try {
    ok = await tf.setBackend('webgpu');
  } catch (err) {
    return { ok: false, why: `the WebGPU backend failed to start: ${String((err as Error).message).split('\n')[0]}` };
  }
  if (!ok) return { ok: false, why: 'the WebGPU backend failed to start (see the messages above)' };
  return { ok: true, note: `webgpu (${probe.name}${probe.software ? '; a software adapter, allowed by ' + WEBGPU_SOFTWARE_ENV : ''})`, adapter: probe.name, software: probe.software };
}
