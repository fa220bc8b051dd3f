import { readFile } from 'node:fs/promises';
import {
  type ApiKeyConfig,
  Gateway,
  type GatewayOptionsInput,
  gatewayOptionsFromYaml,
  isGatewayError,
  parseKeyList,
} from '@vigil/plugin-gateway';

/** Where `vigil gateway` reads its API keys (`name:role:key,…`) unless `--keys-env` names another variable. */
export const GATEWAY_KEYS_ENV = 'VIGIL_GATEWAY_KEYS';
/** Where the control subcommands read the key they send unless `--key-env` names another variable. */
export const GATEWAY_KEY_ENV = 'VIGIL_GATEWAY_KEY';
/** The gateway the control subcommands call unless `--url` is given. */
export const GATEWAY_URL_ENV = 'VIGIL_GATEWAY_URL';

export interface GatewayServeOptions {
  config?: string;
  port?: number;
  blue?: string;
  green?: string;
  active?: string;
  model?: string;
  maxCheckAge?: number;
  samples?: number;
  smokeRequest?: string;
  keysEnv?: string;
  upstreamKeyEnv?: string;
  state?: string;
}

async function readJson(file: string, what: string): Promise<unknown> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new Error(
      `${what}: cannot read ${file} (${error instanceof Error ? error.message : String(error)})`,
    );
  });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${what}: ${file} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

/**
 * `vigil gateway`: run the blue-green front door on 127.0.0.1. Options come from `--config`
 * (YAML with `${env:NAME}` references), then flags; API keys also from `$VIGIL_GATEWAY_KEYS`
 * (`name:role:key,…`). On SIGINT/SIGTERM it stops taking connections, lets in-flight requests
 * finish and exits 0.
 */
export async function gatewayServeCommand(options: GatewayServeOptions): Promise<number> {
  let input: GatewayOptionsInput = {};
  try {
    if (options.config) input = gatewayOptionsFromYaml(await readFile(options.config, 'utf8'));
    const keysEnv = options.keysEnv ?? GATEWAY_KEYS_ENV;
    const fromEnv: ApiKeyConfig[] = process.env[keysEnv] ? parseKeyList(process.env[keysEnv]!, keysEnv) : [];
    if (options.keysEnv && !process.env[options.keysEnv])
      throw new Error(`--keys-env: environment variable ${options.keysEnv} is not set`);
    input = {
      ...input,
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.blue !== undefined ? { blue: options.blue } : {}),
      ...(options.green !== undefined ? { green: options.green } : {}),
      ...(options.active !== undefined ? { active: options.active as 'blue' | 'green' } : {}),
      ...(options.model !== undefined ? { model: options.model } : {}),
      ...(options.state !== undefined ? { stateFile: options.state } : {}),
      keys: [...(input.keys ?? []), ...fromEnv],
    };
    if (options.upstreamKeyEnv) {
      const key = process.env[options.upstreamKeyEnv];
      if (key === undefined)
        throw new Error(`--upstream-key-env: environment variable ${options.upstreamKeyEnv} is not set`);
      input.upstreamKey = key;
    }
    if (
      options.maxCheckAge !== undefined ||
      options.samples !== undefined ||
      options.smokeRequest !== undefined
    ) {
      input.check = {
        ...(input.check ?? {}),
        ...(options.maxCheckAge !== undefined ? { maxAgeMs: options.maxCheckAge * 1000 } : {}),
        ...(options.samples !== undefined ? { samples: options.samples } : {}),
        ...(options.smokeRequest !== undefined
          ? { request: (await readJson(options.smokeRequest, '--smoke-request')) as never }
          : {}),
      };
    }
  } catch (error) {
    process.stderr.write(
      `error${isGatewayError(error) ? ` ${error.code}` : ''}: ${(error as Error).message}\n`,
    );
    return 2;
  }
  let gateway: Gateway;
  try {
    gateway = new Gateway(input, (event) => process.stderr.write(`${JSON.stringify(event)}\n`));
  } catch (error) {
    process.stderr.write(
      `error${isGatewayError(error) ? ` ${error.code}` : ''}: ${(error as Error).message}\n`,
    );
    return 2;
  }
  let stop!: (signal: string) => void;
  const stopped = new Promise<string>((r) => {
    stop = r;
  });
  const onSignal = (signal: NodeJS.Signals) => stop(signal);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { url } = await gateway.listen();
    const opts = gateway.options;
    const describe = (c: 'blue' | 'green') => `${c} ${gateway.upstreamUrl(c) ?? '(not staged)'}`;
    process.stdout.write(
      `gateway at ${url}: active ${gateway.active ?? 'none'}; ${describe('blue')}; ${describe('green')}; ${opts.keys.length} API key(s)${
        opts.stateFile ? `; state in ${opts.stateFile}` : ''
      }\n`,
    );
    const signal = await stopped;
    process.stderr.write(`${signal} received: draining in-flight requests, closing…\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await gateway.close();
  }
  return 0;
}

export interface GatewayClientOptions {
  url?: string;
  keyEnv?: string;
  json?: boolean;
  model?: string;
  request?: string;
  expect?: string;
}

/**
 * `vigil gateway status|stage|check|switch|rollback`: call a running gateway's control API
 * with the key in `$VIGIL_GATEWAY_KEY` (or the variable `--key-env` names). Prints the answer
 * as JSON; exits 1 when the gateway refuses, or when a check fails.
 */
export async function gatewayClientCommand(
  action: 'status' | 'stage' | 'check' | 'switch' | 'rollback',
  args: { color?: string; url?: string },
  options: GatewayClientOptions,
): Promise<number> {
  const base = (options.url ?? process.env[GATEWAY_URL_ENV] ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
  const keyEnv = options.keyEnv ?? GATEWAY_KEY_ENV;
  const key = process.env[keyEnv];
  if (key === undefined || key === '') {
    process.stderr.write(
      `error: no API key: set ${keyEnv} to a gateway key with role operate (or pass --key-env NAME)\n`,
    );
    return 2;
  }
  let body: Record<string, unknown> | undefined;
  try {
    switch (action) {
      case 'stage':
        body = { color: args.color, url: args.url };
        break;
      case 'check':
        body = {
          color: args.color,
          ...(options.model ? { model: options.model } : {}),
          ...(options.request ? { request: await readJson(options.request, '--request') } : {}),
          ...(options.expect ? { expect: await readJson(options.expect, '--expect') } : {}),
        };
        break;
      case 'switch':
        body = { color: args.color };
        break;
      case 'rollback':
        body = {};
        break;
      default:
        body = undefined;
    }
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return 2;
  }
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(`${base}/gateway/${action}`, {
      method: action === 'status' ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    process.stderr.write(
      `error: the gateway at ${base} is unreachable (${cause?.code ?? cause?.message ?? String(error)})\n`,
    );
    return 1;
  }
  const text = await response.text();
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(text) as Record<string, unknown>;
  } catch {
    process.stderr.write(
      `error: the gateway answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}\n`,
    );
    return 1;
  }
  if (!response.ok) {
    process.stderr.write(
      `error ${String(answer.code ?? response.status)}: ${String(answer.error ?? text)}\n`,
    );
    return 1;
  }
  const ms = Math.round((performance.now() - started) * 10) / 10;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...answer, clientMs: ms })}\n`);
  } else if (action === 'switch' || action === 'rollback') {
    process.stdout.write(
      `active ${String(answer.active)} (was ${String(answer.previous ?? 'none')})${answer.changed === false ? ', unchanged' : ''} in ${ms} ms\n`,
    );
  } else if (action === 'check') {
    const steps = (answer.steps as { name: string; ok: boolean; ms: number; detail?: string }[]) ?? [];
    for (const s of steps)
      process.stdout.write(
        `${s.ok ? 'ok  ' : 'FAIL'} ${s.name} ${s.ms} ms${s.detail ? ` — ${s.detail}` : ''}\n`,
      );
    process.stdout.write(
      `check of ${String(answer.color)}: ${answer.ok ? 'passed' : `failed: ${String(answer.reason)}`}\n`,
    );
  } else {
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  }
  return action === 'check' && answer.ok !== true ? 1 : 0;
}
