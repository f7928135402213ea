import { readFileSync } from 'node:fs';
import { OptionsError } from '../dream/options.ts';
import { parseCommandArgs, UsageError, type Command } from './command.ts';
import { commands } from './commands/index.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `reverie ${version} — fluent dreaming for language models (EPO)`,
    '',
    'Usage: reverie <command> [options]      reverie <command> --help for its options',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     this help',
    '  -v, --version  the version',
  ].join('\n');
}

/**
 * Runs the CLI on its arguments and returns the exit code: 0, 2 for a mistake in how it was called (a
 * UsageError, an OptionsError), 1 for any other error. An error is printed as `reverie: Name: message`.
 */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    console.log(help());
    return 0;
  }
  if (first === '--version' || first === '-v') {
    console.log(version);
    return 0;
  }
  const command: Command | undefined = commands.find((c) => c.name === first);
  try {
    if (!command)
      throw new UsageError(
        `unknown command "${first}"; expected one of: ${commands.map((c) => c.name).join(', ')}`,
      );
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      console.log(command.usage);
      return 0;
    }
    await command.run(values, positionals);
    return 0;
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    console.error(`reverie: ${e.name}: ${e.message}`);
    return e instanceof UsageError || e instanceof OptionsError ? 2 : 1;
  }
}
