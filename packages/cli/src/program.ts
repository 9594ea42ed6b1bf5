import { Command, InvalidArgumentError, Option } from 'commander';
import { BackendName, DEFAULT_TTA, TTA_MODES } from '@keypoints/core';
import { registerBackends } from './commands/backends.js';
import { registerBench } from './commands/bench.js';
import { registerCompare } from './commands/compare.js';
import { registerCompletion } from './commands/completion.js';
import { registerConfig } from './commands/config.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerPredict } from './commands/predict.js';
import { registerSchema } from './commands/schema.js';
import { registerServe } from './commands/serve.js';
import { registerSubmit } from './commands/submit.js';
import { registerSweep } from './commands/sweep.js';
import { registerTrain } from './commands/train.js';
import { addExamples } from './examples.js';
import { setQuiet } from './style.js';

export const VERSION = '0.1.0';

export function num(name: string, opts: { int?: boolean; min?: number } = {}) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
      throw new InvalidArgumentError(`${name} must be ${opts.int ? 'a whole number' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}, got "${v}"`);
    }
    return n;
  };
}

export function jsonOption(): Option {
  return new Option('--json', 'machine-readable output: one JSON object per line');
}

export function backendOption(): Option {
  return new Option('--backend <name>', 'compute backend (auto: tfjs-node-gpu, a hardware WebGPU adapter, tfjs-node, then wasm; `keypoints backends` says which work here)').choices(BackendName.options);
}

/** A command line as plain data (commands, arguments, options), for the docs' generated CLI reference. */
export interface CliReference {
  name: string;
  description: string;
  commands: Array<{
    name: string;
    description: string;
    usage: string;
    arguments: Array<{ name: string; description: string; required: boolean; variadic: boolean }>;
    options: Array<{ flags: string; description: string; required: boolean; default?: unknown; choices?: readonly string[] }>;
  }>;
}

export function describeProgram(program: Command = buildProgram()): CliReference {
  return {
    name: program.name(),
    description: program.description(),
    commands: program.commands.map((c) => ({
      name: c.name(),
      description: c.description(),
      usage: `${program.name()} ${c.name()} ${c.usage()}`,
      arguments: c.registeredArguments.map((a) => ({ name: a.name(), description: a.description, required: a.required, variadic: a.variadic })),
      options: c.options.map((o) => ({
        flags: o.flags,
        description: o.description,
        required: o.mandatory,
        ...(o.defaultValue !== undefined ? { default: o.defaultValue } : {}),
        ...(o.argChoices ? { choices: o.argChoices } : {}),
      })),
    })),
  };
}

/**
 * The whole `keypoints` command line. Built by a function (no side effects at import) so the docs
 * generator can walk its commands and options to write the CLI reference.
 */
export function buildProgram(): Command {
  const program = new Command('keypoints')
    .description('Train and run facial keypoint networks (Kaggle "Facial Keypoints Detection" layout).')
    .version(VERSION)
    .option('-q, --quiet', 'print only results, warnings and errors (no progress, no per-epoch lines); before or after the command')
    .hook('preAction', (cmd) => setQuiet(!!cmd.opts().quiet))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerTrain(program);
  registerEvaluate(program);
  registerPredict(program);
  registerSubmit(program);
  registerBench(program);
  registerBackends(program);
  registerSweep(program);
  registerCompare(program);
  registerSchema(program);
  registerServe(program);
  registerConfig(program);
  registerCompletion(program);
  addExamples(program);
  return program;
}

/** --tta for evaluate and predict: what a run's model predicts each face with (core's predict/tta.ts). */
export const ttaOption = (): Option =>
  new Option('--tta <mode>', 'test-time augmentation: flip = average with the mirrored face (left/right keypoints swapped back); none = one prediction')
    .choices(TTA_MODES as string[])
    .default(DEFAULT_TTA);
