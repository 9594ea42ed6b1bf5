// What went wrong on the WebGPU path, in words a user can act on: no adapter (what Dawn's probe saw,
// what to install), and the device errors that mean "this batch does not fit on the GPU".

/** Set to a byte count to make the GPU refuse larger buffers (Dawn's own limit error): the out-of-memory path without a GPU that runs out. */
export const WEBGPU_MAX_BUFFER_ENV = 'KEYPOINTS_WEBGPU_TEST_MAX_BUFFER';

/** Set by the VS Code extension for its server: WebGPU's advice then points at the CLI. */
export const WEBGPU_HOST_ENV = 'KEYPOINTS_HOST';

/**
 * What to install, for the reason WebGPU is unusable (kept short: a UserError line holds 600
 * characters). Linux gets the Vulkan advice, including the container capability that hides Vulkan.
 */
export function webgpuHelp(why: string, platform: NodeJS.Platform = process.platform, host = process.env[WEBGPU_HOST_ENV]): string {
  // The extension's bundled server resolves packages inside the extension, which ships no native binaries.
  if (host === 'vscode' && /not installed/.test(why)) return 'The VS Code extension carries no Dawn (a native binary per platform): train on the GPU from a terminal, npx keypoints train --backend webgpu; the Runs view lists that run.';
  if (/not installed|failed to load/.test(why)) return 'Install the optional dependencies: npm install webgpu @tensorflow/tfjs-backend-webgpu.';
  const driver =
    platform === 'darwin' ? 'macOS needs no install (Metal)'
    : platform === 'win32' ? 'install a current GPU driver (D3D12 or Vulkan)'
    : "install the Vulkan loader (libvulkan1) and your GPU vendor's Vulkan driver (in a container, NVIDIA's toolkit with NVIDIA_DRIVER_CAPABILITIES including graphics)";
  return `For a GPU: ${driver}; check with keypoints backends.`;
}

/**
 * Why Dawn found no adapter, from what the Vulkan loader printed in the probe's child process
 * (Linux; elsewhere Dawn says little). `icdEnv` is VK_ICD_FILENAMES / VK_DRIVER_FILES if set.
 */
export function describeNoAdapter(stderr: string, icdEnv?: string): string {
  if (/libvulkan\.so\.1: cannot open shared object file/.test(stderr)) return 'no WebGPU adapter: the Vulkan loader (libvulkan.so.1) is not installed';
  if (/Found no drivers|VK_ERROR_INCOMPATIBLE_DRIVER/.test(stderr)) {
    const where = icdEnv ? ` (VK_ICD_FILENAMES/VK_DRIVER_FILES point at ${icdEnv})` : '';
    return `no WebGPU adapter: the Vulkan loader is installed but found no GPU driver${where}`;
  }
  return 'no WebGPU adapter (Dawn found no Vulkan/Metal/D3D12 GPU driver)';
}

/**
 * The message of a device error that means the batch is too large for this GPU, else undefined:
 * out of memory, or a buffer or binding over the device's size limits (Dawn reports those as
 * validation errors; TF.js would then compute on an invalid buffer, so the run must stop).
 */
export function sizeFailure(error: { message?: string; constructor?: { name?: string } } | undefined): string | undefined {
  if (!error) return undefined;
  const message = (error.message ?? '').split('\n')[0]!.trim().replace(/\.$/, '');
  if (error.constructor?.name === 'GPUOutOfMemoryError') return message || 'out of memory';
  if (error.constructor?.name === 'GPUValidationError' && /exceeds the max(imum)? (buffer size|storage buffer binding size)|larger than the max(imum)? (buffer size|storage buffer binding size)/i.test(message)) return message;
  return undefined;
}

interface SizedDevice {
  limits: { maxBufferSize: number };
  createBuffer(descriptor: { size: number }): unknown;
}

/**
 * The test hook behind WEBGPU_MAX_BUFFER_ENV: a buffer over `cap` bytes is asked of Dawn at more than
 * the device's maxBufferSize, so Dawn itself refuses it (its validation error reaches the device's
 * uncapturederror event and TF.js gets an invalid buffer), as on a GPU too small for the batch.
 */
export function capBuffers(device: SizedDevice, cap: number): void {
  const create = device.createBuffer.bind(device);
  device.createBuffer = (d) => create(d.size > cap ? { ...d, size: device.limits.maxBufferSize + 4 } : d);
}

export function bufferCap(): number | undefined {
  const v = Number(process.env[WEBGPU_MAX_BUFFER_ENV]);
  return Number.isFinite(v) && v > 0 ? v : undefined;
}
