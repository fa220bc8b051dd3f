import { type Command, InvalidArgumentError } from 'commander';
import {
  GATEWAY_KEY_ENV,
  GATEWAY_KEYS_ENV,
  GATEWAY_URL_ENV,
  gatewayClientCommand,
  gatewayServeCommand,
} from './gateway.js';

const portArg = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number 0–65535');
  return n;
};
const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};
const colorArg = (v: string) => {
  if (v !== 'blue' && v !== 'green') throw new InvalidArgumentError("expected 'blue' or 'green'");
  return v;
};

/** `vigil gateway …`: run the blue-green gateway, or call a running one's control API. */
export function registerGatewayCommands(program: Command): void {
  const gateway = program
    .command('gateway')
    .description(
      'Run the blue-green gateway on 127.0.0.1: forward every request to the active serving version (blue or green); stage, check, switch and roll back through its control API',
    )
    .option(
      '--config <file>',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's literal env reference syntax
      'gateway YAML (port, blue, green, model, keys, check…; ${env:NAME} references)',
    )
    .option('--port <n>', 'public port (default 8000; 0 picks a free one)', portArg)
    .option('--blue <url>', 'upstream of the blue color (e.g. a `vigil serve` at http://127.0.0.1:8081)')
    .option('--green <url>', 'upstream of the green color')
    .option('--active <color>', 'color taking traffic at start (default blue when set)', colorArg)
    .option('--model <name>', 'model for status metadata and checks (/v2/models/{name})')
    .option(
      '--max-check-age <s>',
      'a switch needs a passing check at most this many seconds old (default 300)',
      positive,
    )
    .option('--samples <n>', 'smoke inferences per check (default 5)', positive)
    .option('--smoke-request <file>', 'JSON inference request a check sends when the operator sends none')
    .option(
      '--state <file>',
      'keep the active/previous color and upstream URLs in this JSON file across restarts (it wins over --blue/--green/--active when it exists)',
    )
    .option('--keys-env <name>', `environment variable holding name:role:key,… (default ${GATEWAY_KEYS_ENV})`)
    .option(
      '--upstream-key-env <name>',
      "environment variable holding the key the gateway's checks send upstream",
    )
    .action(async (opts) => {
      process.exitCode = await gatewayServeCommand(opts);
    });
  const client = (c: Command) =>
    c
      .option('--url <url>', `the gateway (default $${GATEWAY_URL_ENV} or http://127.0.0.1:8000)`)
      .option(
        '--key-env <name>',
        `environment variable holding the API key to send (default ${GATEWAY_KEY_ENV})`,
      )
      .option('--json', 'the answer as one line of JSON');
  client(
    gateway
      .command('status')
      .description('Active color, upstreams, their health, model metadata and last checks'),
  ).action(async (opts) => {
    process.exitCode = await gatewayClientCommand('status', {}, opts);
  });
  client(
    gateway.command('stage <color> <url>').description('Register the upstream of a color that is not active'),
  ).action(async (color: string, url: string, opts) => {
    process.exitCode = await gatewayClientCommand('stage', { color: colorArg(color), url }, opts);
  });
  client(
    gateway
      .command('check <color>')
      .description(
        'Health, readiness, a smoke inference and its output shape; a switch needs a fresh passing check',
      ),
  )
    .option('--model <name>', "model to check (default the gateway's)")
    .option('--request <file>', 'JSON inference request for the smoke inference')
    .option('--expect <file>', 'JSON list of expected outputs [{name, datatype, shape}] (-1 = any size)')
    .action(async (color: string, opts) => {
      process.exitCode = await gatewayClientCommand('check', { color: colorArg(color) }, opts);
    });
  client(
    gateway
      .command('switch <color>')
      .description('Send new requests to a checked color; in-flight ones finish'),
  ).action(async (color: string, opts) => {
    process.exitCode = await gatewayClientCommand('switch', { color: colorArg(color) }, opts);
  });
  client(
    gateway.command('rollback').description('Back to the color that served before the last switch'),
  ).action(async (opts) => {
    process.exitCode = await gatewayClientCommand('rollback', {}, opts);
  });
}
