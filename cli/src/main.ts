import { isVigilError } from '@vigil/core';
import { Command, InvalidArgumentError } from 'commander';
import { registerFeaturesCommand } from './commands/features-command.js';
import { adaptersCommand, presetsCommand, schemaCommand, validateCommand } from './commands/inspect.js';
import { runCommand } from './commands/run.js';

function seedArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('the seed must be a non-negative integer');
  return n;
}

const program = new Command()
  .name('vigil')
  .description('Vigil: trustworthy clinical prediction, from streamed events to monitored models.')
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('run')
  .description(
    'Run the main job: generate → ingest → bronze/silver/gold → features → train → register → serve → monitor',
  )
  .option('--preset <name>', 'preset to run (default: local, or the config file’s preset)')
  .option('--config <file>', 'YAML config file')
  .option('--workdir <dir>', 'directory for all run state (default ./.vigil)')
  .option('--seed <n>', 'seed for every random choice', seedArg)
  .option('--json', 'print the summary as one JSON object on the last line of stdout')
  .action(async (opts) => {
    process.exitCode = await runCommand(opts);
  });

program
  .command('validate <file>')
  .description('Validate a config file and report every problem with its path')
  .option('--json', 'machine-readable output')
  .action(async (file: string, opts) => {
    process.exitCode = await validateCommand(file, opts);
  });

program
  .command('presets')
  .description('List the presets')
  .option('--json', 'machine-readable output')
  .action((opts) => {
    process.exitCode = presetsCommand(opts);
  });

program
  .command('adapters')
  .description('List the adapters by port, with capabilities')
  .option('--json', 'machine-readable output')
  .action((opts) => {
    process.exitCode = adaptersCommand(opts);
  });

program
  .command('schema')
  .description('Print the JSON Schema of the config file')
  .action(() => {
    process.exitCode = schemaCommand();
  });

registerFeaturesCommand(program);

program.parseAsync().catch((error: unknown) => {
  if (isVigilError(error)) {
    process.stderr.write(
      `error ${error.code}${error.component ? ` in ${error.component}${error.method ? `.${error.method}` : ''}` : ''}: ${error.message}\n`,
    );
    if (error.cause instanceof Error && error.cause.message !== error.message)
      process.stderr.write(`  caused by: ${error.cause.message}\n`);
  } else {
    process.stderr.write(
      `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
});
