import { reportError } from './errors.js';
import { buildProgram } from './program.js';

async function main(): Promise<void> {
  // `keypoints predict … | head`: a reader that stops early is not an error; stop quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

void main();
