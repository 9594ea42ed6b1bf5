/** The @tensorflow/tfjs-core version the bundled gradients were generated from. */
export declare const TFJS_CORE_VERSION: string;
