import { Command } from 'commander';
import { startServer } from '../server.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the JSON-RPC trainer server (as the VS Code extension does), like a language server.')
    .option('--stdio', 'talk JSON-RPC over stdin/stdout (the only transport)', true)
    .action(async () => {
      // stdout carries the protocol: anything else printed there would corrupt it.
      console.log = console.info = (...args: unknown[]) => process.stderr.write(args.map(String).join(' ') + '\n');
      const conn = startServer(process.stdin, process.stdout);
      await new Promise<void>((resolve) => conn.onClose(() => resolve()));
    });
}
