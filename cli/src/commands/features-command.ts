import { type Command, InvalidArgumentError } from 'commander';
import {
  featuresApply,
  featuresDescribe,
  featuresGet,
  featuresList,
  featuresMaterialize,
  featuresServe,
} from './features.js';

function portArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError('the port must be an integer 0–65535');
  return n;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `vigil features …`: the feature plane, on the same config/preset/workdir as `vigil run`. */
export function registerFeaturesCommand(program: Command): void {
  const features = program
    .command('features')
    .description('Feature definitions, materialisation, online lookup and the feature server');
  const common = (c: Command) =>
    c
      .option('--preset <name>', 'preset (default: local, or the config file’s preset)')
      .option('--config <file>', 'YAML config file')
      .option('--workdir <dir>', 'directory of the run state (default ./.vigil)')
      .option('--json', 'machine-readable output');
  common(
    features
      .command('apply')
      .description('Register the feature views the config declares (or the job’s built-in views)'),
  ).action(async (o) => {
    process.exitCode = await featuresApply(o);
  });
  common(
    features.command('list').description('List registered features: view, feature, version, ttl'),
  ).action(async (o) => {
    process.exitCode = await featuresList(o);
  });
  common(features.command('describe <view>').description('Show a registered view’s definition')).action(
    async (view: string, o) => {
      process.exitCode = await featuresDescribe(view, o);
    },
  );
  common(
    features
      .command('materialize')
      .description('Build window tables from silver, then copy offline → online'),
  )
    .option('--end <iso>', 'upper bound of event timestamps (default: now)')
    .option('--start <iso>', 'lower bound (default: since the last materialisation, or end − ttl)')
    .option('--views <a,b>', 'only these views')
    .action(async (o) => {
      process.exitCode = await featuresMaterialize(o);
    });
  common(features.command('get').description('Online feature values of an entity'))
    .requiredOption('--entity <key=value>', 'join key and value (repeatable)', collect)
    .option(
      '--features <view:feat,…>',
      'features to read (default: every feature keyed by the given join keys)',
    )
    .action(async (o) => {
      process.exitCode = await featuresGet(o);
    });
  common(
    features
      .command('serve')
      .description('Feast-compatible feature server (POST /get-online-features) on 127.0.0.1'),
  )
    .option('--port <n>', 'port (default 6566; 0 picks a free one)', portArg)
    .option('--stream', 'also push windowed features from the source topics as events arrive')
    .action(async (o) => {
      process.exitCode = await featuresServe(o);
    });
}
