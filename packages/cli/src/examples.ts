/** One worked example per command, shown at the end of `keypoints <command> --help`. */
import type { Command } from 'commander';

export const EXAMPLES: Record<string, string> = {
  train: 'keypoints train --data training.csv --preset tiny --epochs 3 --out runs/first',
  evaluate: 'keypoints evaluate --model runs/first --data training.csv --max-rmse 3.0',
  predict: 'keypoints predict --model runs/first face.jpg --overlay face-keypoints.png',
  submit: 'keypoints submit --model runs/first --data test.csv --lookup IdLookupTable.csv --out submission.csv',
  bench: 'keypoints bench --json',
  backends: 'keypoints backends',
  sweep: 'keypoints sweep --set train.learningRate=1e-3,5e-4 --set train.batchSize=32,64 --preset seed --epochs 5 --data training.csv',
  compare: 'keypoints compare sweeps/my-sweep --format md',
  schema: 'keypoints schema > keypoints.schema.json',
  serve: 'keypoints serve --stdio',
  config: 'keypoints config --config my.keypoints.json --preset tiny',
  completion: 'eval "$(keypoints completion bash)"',
};

/** Adds "Example:" after each command's help (and one for the program's); commands without one get none. */
export function addExamples(program: Command): void {
  for (const c of program.commands) {
    const ex = EXAMPLES[c.name()];
    if (ex) c.addHelpText('after', `\nExample:\n  $ ${ex}`);
  }
  program.addHelpText('after', `\nExample:\n  $ ${EXAMPLES.train}\n\nRun keypoints <command> --help for a command's options, their defaults and an example.`);
}
