import { isVigilError } from '@vigil/core';
import { Command, InvalidArgumentError } from 'commander';
import { registerFeaturesCommand } from './commands/features-command.js';
import { adaptersCommand, presetsCommand, schemaCommand, validateCommand } from './commands/inspect.js';
import { pipelineShowCommand, rebuildCommand } from './commands/pipeline.js';
import { runCommand } from './commands/run.js';
import { simulateCommand } from './commands/simulate.js';

function seedArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('the seed must be a non-negative integer');
  return n;
}

function positiveIntArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function isoArg(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || !Number.isFinite(Date.parse(value))) {
    throw new InvalidArgumentError('expected an ISO 8601 date or date-time, e.g. 2026-01-05T00:00:00Z');
  }
  return value;
}

const program = new Command()
  .name('vigil')
  .description('Vigil: trustworthy clinical prediction, from streamed events to monitored models.')
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('run')
  .description(
    'Run the configured job’s pipeline (default adverse-events: generate → ingest → silver → gold → features/label → training set → train → register → serve → monitor); unchanged steps come from the cache',
  )
  .option('--preset <name>', 'preset to run (default: local, or the config file’s preset)')
  .option('--config <file>', 'YAML config file')
  .option('--workdir <dir>', 'directory for all run state (default ./.vigil)')
  .option('--seed <n>', 'seed for every random choice', seedArg)
  .option('--no-cache', 'run every step, even those whose version, config and inputs are unchanged')
  .option('--resume <runId>', 'continue an interrupted or failed run from its first unfinished step')
  .option('--json', 'print the summary as one JSON object on the last line of stdout')
  .action(async (opts) => {
    process.exitCode = await runCommand(opts);
  });

program
  .command('simulate')
  .description(
    'Generate the seeded trial: print its config, Bayes-optimal AUROC and mess stats; write the events to a file or produce them into a Source',
  )
  .option('--seed <n>', 'seed of the simulation (default: the config seed, else 42)', seedArg)
  .option('--patients <n>', 'patients enrolled (default 400)', positiveIntArg)
  .option('--days <n>', 'trial days (default 90)', positiveIntArg)
  .option('--sites <n>', 'trial sites (default 4)', positiveIntArg)
  .option('--start <iso>', 'first trial day, ISO 8601 (default 2026-01-05T00:00:00Z)', isoArg)
  .option('--horizon <days>', 'prediction horizon in days (default 7)', positiveIntArg)
  .option('--out <file>', 'write the events, one {topic, key, value} per line (.ndjson/.jsonl) or row (.csv)')
  .option(
    '--to <source>',
    "produce the events into 'source' (the config's source port) or a named source adapter",
  )
  .option(
    '--partitions <n>',
    'partitions of each topic created by --to (default: the number of sites)',
    positiveIntArg,
  )
  .option('--config <file>', 'YAML config file (source adapter, trial defaults)')
  .option('--preset <name>', 'preset whose source --to uses (default: local, or the config file’s preset)')
  .option('--workdir <dir>', 'directory for run state (default ./.vigil)')
  .option('--json', 'print config, AUROC and stats as one JSON object on the last line of stdout')
  .action(async (opts) => {
    process.exitCode = await simulateCommand(opts);
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

const pipeline = program.command('pipeline').description('The configured job’s pipeline of steps');
pipeline
  .command('show')
  .description('Print the DAG of steps: text, --json ({steps: [{name, needs}]}) or --format mermaid')
  .option('--config <file>', 'YAML config file')
  .option('--preset <name>', 'preset (default: local, or the config file’s preset)')
  .option('--json', 'one JSON object: {job, pipeline, steps: [{name, needs, inputs, outputs, requires}]}')
  .option('--format <format>', 'text (default), json or mermaid')
  .action(async (opts) => {
    process.exitCode = await pipelineShowCommand(opts);
  });

program
  .command('rebuild <runId>')
  .description(
    'Rebuild a past run’s training set from its lineage (lake commit, feature views, label definition) and prove it identical by hash',
  )
  .option('--config <file>', 'the YAML config the run used')
  .option('--preset <name>', 'preset (default: local, or the config file’s preset)')
  .option('--workdir <dir>', 'directory holding the run (default ./.vigil)')
  .option('--step <name>', 'the step whose outputs to rebuild (default training-set)')
  .option('--json', 'the comparison as one JSON object')
  .action(async (runId: string, opts) => {
    process.exitCode = await rebuildCommand(runId, opts);
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
