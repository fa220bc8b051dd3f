import { isVigilError } from '@vigil/core';
import { Command, InvalidArgumentError } from 'commander';
import { registerGatewayCommands } from './commands/gateway-commands.js';
import { adaptersCommand, presetsCommand, schemaCommand, validateCommand } from './commands/inspect.js';
import {
  modelsCanaryCommand,
  modelsListCommand,
  modelsPromoteCommand,
  modelsRollbackCommand,
  modelsShowCommand,
} from './commands/models.js';
import { modelsQuantizeCommand } from './commands/models-quantize.js';
import { pipelineShowCommand, rebuildCommand } from './commands/pipeline.js';
import { rolloutExportCommand, rolloutStatusCommand } from './commands/rollout.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { createDefaultRegistry } from './default-registry.js';
import { registerJobCommands } from './job-commands.js';

function positiveIntArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function seedArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('the seed must be a non-negative integer');
  return n;
}

function weeksArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 104)
    throw new InvalidArgumentError('--weeks must be an integer from 1 to 104');
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
    'Run the configured job’s pipeline (default adverse-events: generate → ingest → silver → gold → features/label → training set → train → register → serve → monitor); unchanged steps come from the cache',
  )
  .option('--preset <name>', 'preset to run (default: local, or the config file’s preset)')
  .option('--config <file>', 'YAML config file')
  .option('--workdir <dir>', 'directory for all run state (default ./.vigil)')
  .option('--seed <n>', 'seed for every random choice', seedArg)
  .option('--no-cache', 'run every step, even those whose version, config and inputs are unchanged')
  .option('--resume <runId>', 'continue an interrupted or failed run from its first unfinished step')
  .option(
    '--weeks <n>',
    "then play the job's closed loop over N simulated weeks (serve, label, monitor, retrain, gate, canary); sets job.loop.weeks",
    weeksArg,
  )
  .option(
    '--sabotage',
    'with --weeks: one challenger is deliberately broken; the canary must roll it back (job.loop.sabotage)',
  )
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

const models = program
  .command('models')
  .description(
    'The registered versions of the job’s model and its champion alias (which the server follows)',
  );
const modelOptions = (c: ReturnType<typeof models.command>) =>
  c
    .option('--config <file>', 'YAML config file (its registry port and job)')
    .option('--preset <name>', 'preset (default: local, or the config file’s preset)')
    .option('--workdir <dir>', 'directory for run state (default ./.vigil)')
    .option('--model <name>', 'registered model (default: the job’s)');
modelOptions(models.command('list').description('Versions with aliases, gate decisions and metrics'))
  .option('--json', 'one JSON object: {model, versions: [...]}')
  .action(async (opts) => {
    process.exitCode = await modelsListCommand(opts);
  });
modelOptions(models.command('show <version>').description('One version: tags, metrics, gate evidence'))
  .option('--json', 'one line of JSON')
  .action(async (version: string, opts) => {
    process.exitCode = await modelsShowCommand(version, opts);
  });
modelOptions(
  models
    .command('promote <version>')
    .description('Make a version champion by hand (recorded on it, with who and why)'),
)
  .requiredOption('--reason <text>', 'why this version is promoted by hand')
  .action(async (version: string, opts) => {
    process.exitCode = await modelsPromoteCommand(version, opts);
  });
modelOptions(
  models.command('rollback').description('Bring back the previous champion, or --to one of the last 5'),
)
  .option('--to <version>', 'the past champion to bring back')
  .option('--json', 'one line of JSON: {model, from, to, ms}')
  .action(async (opts) => {
    process.exitCode = await modelsRollbackCommand(opts);
  });

modelOptions(
  models
    .command('canary <version>')
    .description(
      'Point the challenger alias at a version: a running `vigil serve` with the rollout plugin loads it beside the champion and runs its canary (complete: it becomes champion; rollback: the reason is recorded on it)',
    ),
)
  .requiredOption('--reason <text>', 'why this version is canaried (recorded on it, with who and when)')
  .action(async (version: string, opts) => {
    process.exitCode = await modelsCanaryCommand(version, opts);
  });
modelOptions(
  models
    .command('quantize <version>')
    .description(
      'Quantise a version to int8 (Conv/MatMul weights; trees stay float), print its AUROC cost and speed-up against the float version in onnxruntime, and register it as a new version (aliases unchanged)',
    ),
)
  .option(
    '--rows <file>',
    'JSON {"inputs": [[…], …], "labels": [0, 1, …]}: held-out rows (model input width, null = missing) for the AUROC cost and timing; without it: seeded synthetic rows, timing only',
  )
  .option(
    '--format <format>',
    'qdq (default: int8 weights before float ops) or integer (ConvInteger/MatMulInteger)',
  )
  .option('--runs <n>', 'single-row calls per model for the latency (default 2000)')
  .option('--no-register', 'measure only; do not register the int8 version')
  .option('--out <file>', 'also write the int8 ONNX model to this file')
  .option('--json', 'one line of JSON: {model, from, version, format, quantized, keptFloat, rows, check}')
  .action(async (version: string, opts) => {
    process.exitCode = await modelsQuantizeCommand(version, opts);
  });

const rollout = program
  .command('rollout')
  .description(
    'The canary `vigil serve` runs (rollout plugin): its state, and its route as Seldon Core v2 Experiments',
  );
const rolloutOptions = (c: ReturnType<typeof rollout.command>) =>
  c
    .option('--config <file>', 'YAML config file (its rollout plugin section and job)')
    .option('--preset <name>', 'preset (default: local, or the config file’s preset)')
    .option('--workdir <dir>', 'directory for run state (default ./.vigil)')
    .option('--model <name>', 'registered model (default: the job’s)');
rolloutOptions(
  rollout
    .command('status')
    .description(
      'Versions, status, step and weight, the checks of the last decision and the history of decisions with their reasons',
    ),
)
  .option(
    '--json',
    'one line of JSON: {model, champion, challenger, mode, status, step, steps, weight, startedAt, stepStartedAt, requests, last, history, config}',
  )
  .action(async (opts) => {
    process.exitCode = await rolloutStatusCommand(opts);
  });
rolloutOptions(
  rollout
    .command('export')
    .description(
      'Print the Seldon Core v2 Experiment (YAML) of the rollout’s current route, or of every step with --plan',
    ),
)
  .option('--plan', 'one Experiment per step, as a YAML stream (documents separated by ---)')
  .option('--namespace <ns>', 'metadata.namespace of the Experiments')
  .action(async (opts) => {
    process.exitCode = await rolloutExportCommand(opts);
  });

program
  .command('serve')
  .description(
    'Serve the registered model’s alias (default champion) over the Open Inference Protocol; follow alias changes without a restart; with the rollout plugin configured, run the canary of the challenger alias (`vigil models canary`) and promote or roll it back; drain on SIGTERM',
  )
  .option('--config <file>', 'YAML config file (its registry and server ports)')
  .option('--preset <name>', 'preset (default: local, or the config file’s preset)')
  .option('--workdir <dir>', 'directory for run state (default ./.vigil)')
  .option('--model <name>', 'registered model (default: the job’s)')
  .option('--alias <alias>', 'the alias to serve and follow (default champion)')
  .option('--host <host>', 'address to listen on (default 127.0.0.1)')
  .option('--port <n>', 'port (default 8080; 0 picks a free one)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new InvalidArgumentError('expected a port number 0–65535');
    return n;
  })
  .option(
    '--poll-ms <n>',
    'how often to check the aliases and evaluate a running canary (default 2000)',
    positiveIntArg,
  )
  .action(async (opts) => {
    process.exitCode = await serveCommand(opts);
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

// `vigil gateway` (the blue-green front door) and its control subcommands.
registerGatewayCommands(program);

// The commands jobs contribute (adverse-events: `simulate`, `features …`).
registerJobCommands(program, createDefaultRegistry);

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
