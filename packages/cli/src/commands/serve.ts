/** `keypoints serve --stdio`: the JSON-RPC server until the client goes, a framing error or a signal; a run in progress stops with a checkpoint. */
import { Command } from 'commander';
import { ExitCode } from '@keypoints/core';
import { startServer } from '../server.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the JSON-RPC trainer server (as the VS Code extension does), like a language server.')
    .option('--stdio', 'talk JSON-RPC over stdin/stdout (the only transport)', true)
    .action(async () => {
      // stdout carries the protocol: anything else printed there would corrupt it.
      console.log = console.info = (...args: unknown[]) => process.stderr.write(args.map(String).join(' ') + '\n');
      const { finished, stop } = startServer(process.stdin, process.stdout);
      // SIGTERM / SIGHUP / SIGINT (the editor closing, a CI runner, Ctrl-C): like the client going away,
      // the run in progress stops with a checkpoint first. A second signal quits at once.
      let signalled = false;
      const onSignal = (sig: NodeJS.Signals) => {
        if (signalled) process.exit(ExitCode.interrupted);
        signalled = true;
        process.stderr.write(`[info] ${sig}: stopping (a run in progress saves a checkpoint first)\n`);
        void stop();
      };
      const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];
      for (const s of signals) process.on(s, onSignal);
      const { reason } = await finished;
      for (const s of signals) process.off(s, onSignal);
      // stdin may still be open (a framing error): end here rather than wait on it.
      process.exit(reason === 'framing' ? ExitCode.usage : signalled ? ExitCode.interrupted : ExitCode.ok);
    });
}
