/** `keypoints config`: the resolved training config (schema defaults, preset, config file) as JSON, without training. */
import { Command, Option } from 'commander';
import { deepMerge, PresetName, readConfigFile, resolveConfig } from '@keypoints/core';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('Print the resolved training config (defaults, then the preset, then the config file) as JSON, without training.')
    .option('--config <file>', 'a *.keypoints.json config')
    .addOption(new Option('--preset <name>', "network and recipe (overrides the file's; default: the file's, else default)").choices(PresetName.options))
    .action(async (flags: { config?: string; preset?: string }) => {
      const file = flags.config ? await readConfigFile(flags.config) : {};
      const config = resolveConfig(deepMerge(file, { preset: flags.preset }), flags.config ?? 'flags');
      process.stdout.write(JSON.stringify(config, null, 2) + '\n');
    });
}
