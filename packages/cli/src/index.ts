import { main } from './cli.js';

// @actions/tool-cache logs through @actions/core, which writes `::debug::` workflow commands to
// stdout. Outside a runner they are noise in the terminal report (kept with SECGATE_DEBUG=1).
if (!process.env['GITHUB_ACTIONS'] && !process.env['SECGATE_DEBUG']) {
  const write = process.stdout.write.bind(process.stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) =>
    typeof chunk === 'string' && chunk.startsWith('::debug::') ? true : write(chunk, ...rest)) as typeof process.stdout.write;
}

process.exitCode = await main(process.argv);
