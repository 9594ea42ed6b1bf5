import { Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Identity (tf.clone, and every tensor the engine saves for a gradient) as a second reference to
 * the same data, like the cpu backend's, instead of the stock wasm kernel's full copy: the copies
 * were about 4 % of a seed-network step. Safe because no kernel writes into its inputs: every one
 * (ours included) allocates its outputs, and a variable's assign swaps its data rather than
 * overwriting it.
 */
const identity = ({ inputs, backend }: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo => {
  const { x } = inputs;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

export function makeIdentityConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo =>
    args.inputs.x.dtype === 'string' ? (stock.kernelFunc(args as never) as TensorInfo) : identity(args);
  return { kernelName: Identity, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: kernelFunc as unknown as KernelFunc };
}
