/**
 * Serving benchmark: `vigil serve` (the embedded onnx server, requests by patient id, features
 * read from Redis in Feast's encoding through the job's resolver) against FastAPI + onnxruntime +
 * redis-py serving the SAME ONNX file from the SAME Redis hashes (bench/serve/peer.py), in one run:
 *
 *  1. `vigil run` of bench/serve/serve.yaml (small trial, GBT row model, online store in Redis db 3)
 *     into a temp workdir; then `vigil serve` on it and the peer on the champion's model.onnx.
 *  2. Parity: every patient's probability from both servers must agree to 1e-5, else exit 1.
 *  3. Physical floor, same run: one HMGET of one patient + onnxruntime on one row, each timed
 *     alone, from Python (redis-py, onnxruntime) and from Node (ioredis, onnxruntime-node).
 *  4. Closed-loop load (keep-alive node:http, c connections, each sends its next request when the
 *     answer arrives) at c = 1, 2, 4, … for each server, alternating servers per step and the
 *     order per round; per server the highest throughput whose p99 ≤ 10 ms, and p50/p99 at c = 4.
 *  5. The explanation path (`GET /patients/{id}/risk`: features + TreeSHAP drivers) for ours.
 *  6. `vigil serve` twice: with the default `batchRows` (the requests whose features arrive in one
 *     event-loop turn share one onnxruntime run) and with `batchRows: 1` (each request runs alone,
 *     as the peer does), so both are reported. The parity check also sends every patient at once
 *     to the batched server and requires the answers it gave one by one.
 *
 * Equal resources: both servers are pinned to CPU 1 (`taskset -c 1`), one process each (Node's
 * one event loop; uvicorn `workers=1`), onnxruntime 1 intra-op thread each; the load generator runs
 * pinned to CPU 0. The peer's venv (pinned below) is made on first use under
 * ${VIGIL_CACHE:-~/.cache/vigil}/venvs/serve-bench. Needs `bash scripts/services up redis`.
 * Not part of the test suite.
 *
 *   node --conditions=@vigil/source --import tsx bench/serve/serve.ts [secondsPerStep=2] [rounds=2] [maxConnections=64]
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { entityKeyEncoder, featureField, timestampField } from '@vigil/adapter-redis';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { decodeValue } from '../../adapters/redis/src/feast-encoding/value-proto.js';
import {
  encodeFields,
  HmgetConnection,
  hmgetTarget,
} from '../../adapters/redis/src/online/hmget-connection.js';
import { peerVenv } from '../../core/src/testing/pinned-venv.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

// Pin the load generator to CPU 0 (re-exec once); the servers go to CPU 1.
const pinning = existsSync('/usr/bin/taskset') && !process.env.VIGIL_SERVE_BENCH_NO_PIN;
if (pinning && !process.env.VIGIL_SERVE_BENCH_PINNED) {
  const r = spawnSync(
    'taskset',
    ['-c', '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, VIGIL_SERVE_BENCH_PINNED: '1' },
    },
  );
  process.exit(r.status ?? 1);
}
const pinned = (cmd: string, args: string[]): [string, string[]] =>
  pinning ? ['taskset', ['-c', '1', cmd, ...args]] : [cmd, args];

const SECONDS = Number(process.argv[2] ?? 2);
const ROUNDS = Number(process.argv[3] ?? 2);
const MAX_CONNECTIONS = Number(process.argv[4] ?? 64);
const P99_TARGET_MS = 10;
const MODERATE = 4;
const OUR_PORT = Number(process.env.VIGIL_SERVE_BENCH_PORT ?? 18181);
const PEER_PORT = OUR_PORT + 1;
const ECHO_PORT = OUR_PORT + 2;
const UNBATCHED_PORT = OUR_PORT + 3;
const REDIS_DB = 3;
const PROJECT = 'vigil_serve_bench';
const MODEL = 'adverse-event';
const PINS = [
  'fastapi==0.165.0',
  'uvicorn==0.55.0',
  'onnxruntime==1.32.0',
  'redis==8.2.0',
  'hiredis==3.5.0',
  'numpy==2.4.6',
  // uvicorn[standard]'s event loop and HTTP parser (what pip resolves for uvicorn[standard]==0.55.0).
  'uvloop==0.23.0',
  'httptools==0.9.0',
];
const venv = peerVenv('serve-bench', PINS);
const python = venv.python;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted: ArrayLike<number>, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const f2 = (n: number) => n.toFixed(2);

/** The peer's venv (made on first use; see core's pinnedVenv). */
async function ensureVenv(): Promise<void> {
  const why = await venv.ensure();
  if (why) throw new Error(why);
}

function vigil(args: string[]): [string, string[]] {
  return [
    process.execPath,
    [
      // VIGIL_SERVE_BENCH_CPU_PROF=<dir>: a V8 CPU profile of `vigil serve` (written when it stops).
      ...(args[0] === 'serve' && process.env.VIGIL_SERVE_BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.VIGIL_SERVE_BENCH_CPU_PROF}`]
        : []),
      '--conditions=@vigil/source',
      '--import',
      'tsx',
      join(root, 'cli/src/main.ts'),
      ...args,
    ],
  ];
}

async function waitReady(url: string, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${what} did not become ready at ${url}`);
}

interface Target {
  name: string;
  method: 'GET' | 'POST';
  port: number;
  /** The server's process, for its CPU time (all threads); absent: not measured. */
  pid?: number;
  path: (id: string) => string;
  body: (id: string) => Buffer | undefined;
}

const inferBody = (id: string) =>
  Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'patient_id', datatype: 'BYTES', shape: [1], data: [id] }],
      outputs: [{ name: 'probabilities' }],
    }),
  );

function once(agent: Agent, t: Target, id: string): Promise<{ status: number; body: string }> {
  const body = t.body(id);
  return new Promise((ok, fail) => {
    // As tritonclient's sync HTTP client: no Content-Type, no Accept (RECIPES.md).
    const headers: Record<string, string | number> = body ? { 'content-length': body.length } : {};
    const req = request(
      { agent, host: '127.0.0.1', port: t.port, method: t.method, path: t.path(id), headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

interface Step {
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** The server's busy CPU (all its threads) per request answered in the step, µs; null: not measured. */
  cpuUs: number | null;
  /** Answers that came from the fallback (`"fallback":true`): not the model's, so the step does not count. */
  fallbacks: number;
}

const FALLBACK_MARK = Buffer.from('"fallback":true');

/** CPU time of every thread of `pid` so far, in ns (Linux `schedstat`); null where unreadable. */
function cpuNs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'latin1').split(' ')[0]);
    }
    return ns;
  } catch {
    return null;
  }
}

/**
 * One keep-alive HTTP/1.1 connection over a raw socket: prebuilt request bytes, each answer framed
 * by its Content-Length. Much lighter than node:http, so the client's own cost stays small next to
 * the server's (both servers answer with Content-Length).
 */
class RawConnection {
  readonly #socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #waiting:
    | { ok: (answer: { status: number; fallback: boolean }) => void; fail: (error: Error) => void }
    | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
      this.#drain();
    });
    socket.on('error', (error) => this.#waiting?.fail(error));
    socket.on('close', () => this.#waiting?.fail(new Error('connection closed')));
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((ok, fail) => {
      const socket = connect({ host: '127.0.0.1', port }, () => ok(new RawConnection(socket)));
      socket.once('error', fail);
    });
  }

  send(bytes: Buffer): Promise<{ status: number; fallback: boolean }> {
    return new Promise((ok, fail) => {
      this.#waiting = { ok, fail };
      this.#socket.write(bytes);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #drain(): void {
    const head = this.#buf.indexOf('\r\n\r\n');
    if (head < 0 || !this.#waiting) return;
    const headers = this.#buf.toString('latin1', 0, head);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
    if (!length) {
      this.#waiting.fail(new Error(`an answer without Content-Length: ${headers.slice(0, 200)}`));
      return;
    }
    const total = head + 4 + Number(length[1]);
    if (this.#buf.length < total) return;
    const status = Number(headers.slice(9, 12));
    const fallback = this.#buf.subarray(head + 4, total).includes(FALLBACK_MARK);
    this.#buf = this.#buf.subarray(total);
    const { ok } = this.#waiting;
    this.#waiting = undefined;
    ok({ status, fallback });
  }
}

function rawRequest(t: Target, id: string): Buffer {
  const body = t.body(id);
  const head = `${t.method} ${t.path(id)} HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\n${
    body ? `Content-Length: ${body.length}\r\n` : ''
  }\r\n`;
  return body ? Buffer.concat([Buffer.from(head), body]) : Buffer.from(head);
}

/** Closed loop: `c` keep-alive connections, each sends its next request when the answer is read. */
async function load(t: Target, ids: string[], c: number, seconds: number): Promise<Step> {
  const requests = ids.map((id) => rawRequest(t, id));
  const connections = await Promise.all(Array.from({ length: c }, () => RawConnection.open(t.port)));
  try {
    const warmEnd = performance.now() + 300;
    const endAt = warmEnd + seconds * 1000;
    const lat: number[] = [];
    let next = 0;
    let began = 0;
    let done = 0;
    let firstFailure: string | undefined;
    let answered = 0;
    let fallbacks = 0;
    const cpuBefore = cpuNs(t.pid);
    const worker = async (conn: RawConnection) => {
      for (;;) {
        const start = performance.now();
        if (start >= endAt) return;
        const { status, fallback } = await conn.send(requests[next++ % requests.length]!);
        answered++;
        if (fallback) fallbacks++;
        const end = performance.now();
        if (status !== 200) firstFailure ??= `${t.name} answered ${status}`;
        if (start >= warmEnd && end <= endAt) {
          lat.push(end - start);
          if (done === 0) began = start;
          done++;
        }
      }
    };
    await Promise.all(connections.map(worker));
    const cpuAfter = cpuNs(t.pid);
    if (firstFailure) throw new Error(firstFailure);
    const sorted = Float64Array.from(lat).sort();
    return {
      connections: c,
      rps: done / ((endAt - Math.max(began, warmEnd)) / 1000),
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      requests: done,
      cpuUs: cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / 1000 / answered,
      fallbacks,
    };
  } finally {
    for (const conn of connections) conn.close();
  }
}

function stats(ms: number[]) {
  const s = Float64Array.from(ms).sort();
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99) };
}

/** The floor from Node: vigil's lean HMGET of one patient, onnxruntime-node on that patient's row, each alone. */
async function nodeFloor(
  modelFile: string,
  viewNames: readonly string[],
  names: string[],
  ids: string[],
  n: number,
) {
  const ort = await import('onnxruntime-node');
  // The read vigil serve makes: the lean HMGET connection, all views' fields in one command.
  const connection = await HmgetConnection.open(hmgetTarget(`redis://127.0.0.1:6379/${REDIS_DB}`)!);
  const session = await ort.InferenceSession.create(modelFile, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const key = entityKeyEncoder([{ name: 'patient_id', dtype: 'string' }], PROJECT);
  const fields = names.map((n) => {
    const i = n.indexOf('__');
    return featureField(n.slice(0, i), n.slice(i + 2));
  });
  for (const v of viewNames) fields.push(timestampField(v));
  const encoded = encodeFields(fields);
  const input = session.inputNames[0]!;
  const redisMs: number[] = [];
  const modelMs: number[] = [];
  for (let j = -50; j < n; j++) {
    const k = key([ids[(j + 50) % ids.length]]);
    let t = performance.now();
    const [reply] = connection.hmget([{ key: k, fields: encoded }]);
    const values = await reply!;
    if (j >= 0) redisMs.push(performance.now() - t);
    // The patient's own row (as the Python floor scores it), NaN where a value is missing.
    const row = Float32Array.from(names, (_, c) => {
      const v = decodeValue(values[c]);
      return typeof v === 'number' ? v : Number.NaN;
    });
    t = performance.now();
    await session.run({ [input]: new ort.Tensor('float32', row, [1, names.length]) }, ['probabilities']);
    if (j >= 0) modelMs.push(performance.now() - t);
  }
  connection.close();
  await session.release();
  return { redis: stats(redisMs), model: stats(modelMs) };
}

async function main(): Promise<void> {
  await run('bash', [join(root, 'scripts/services'), 'up', 'redis']);
  await ensureVenv();
  const workdir = await mkdtemp(join(tmpdir(), 'vigil-serve-bench-'));
  const children: ChildProcess[] = [];
  try {
    const config = join(here, 'serve.yaml');
    console.log(`vigil run (small trial, gbt) into ${workdir} …`);
    const [cmd, args] = vigil(['run', '--config', config, '--workdir', workdir]);
    await run(cmd, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 });

    const version = JSON.parse(
      await readFile(join(workdir, 'registry/models', MODEL, 'aliases.json'), 'utf8'),
    ).champion;
    const meta = JSON.parse(
      await readFile(join(workdir, 'registry/models', MODEL, 'versions', `${version}.json`), 'utf8'),
    );
    const modelDir = join(
      workdir,
      'registry/experiments/adverse-events/runs',
      meta.runId,
      'artifacts',
      dirname(meta.source),
    );
    const signature = JSON.parse(await readFile(join(modelDir, 'signature.json'), 'utf8'));
    const names: string[] = signature.featureNames;
    if (signature.inputs[0].shape[1] !== names.length) throw new Error('not a row model');
    const viewsFile = join(workdir, 'features/registry.json');
    const views = JSON.parse(await readFile(viewsFile, 'utf8')).views;
    const viewsRead = Object.fromEntries(
      Object.entries(views).filter(([v]) => names.some((n) => n.startsWith(`${v}__`))),
    ) as Record<string, { view: { name: string } }>;

    const ours = spawn(
      ...pinned(...vigil(['serve', '--config', config, '--workdir', workdir, '--port', String(OUR_PORT)])),
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    children.push(ours);
    // The same server with every request in its own onnxruntime run (as the peer runs them).
    const unbatchedConfig = join(workdir, 'serve-unbatched.yaml');
    const parsedConfig = parseYaml(await readFile(config, 'utf8'));
    parsedConfig.ports.server.config.batchRows = 1;
    // Its own monitor journals: a server also takes in what other processes append to its journal.
    parsedConfig.ports.monitor = { adapter: 'local', config: { dir: 'monitor-unbatched' } };
    await writeFile(unbatchedConfig, stringifyYaml(parsedConfig));
    const unbatched = spawn(
      ...pinned(
        ...vigil([
          'serve',
          '--config',
          unbatchedConfig,
          '--workdir',
          workdir,
          '--port',
          String(UNBATCHED_PORT),
        ]),
      ),
      { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(unbatched);
    const peerEnv = {
      ...process.env,
      PEER_MODEL: join(modelDir, 'model.onnx'),
      PEER_SIGNATURE: join(modelDir, 'signature.json'),
      PEER_VIEWS: viewsFile,
      PEER_PROJECT: PROJECT,
      PEER_REDIS_DB: String(REDIS_DB),
      PEER_MODE: process.env.VIGIL_SERVE_BENCH_PEER_MODE ?? 'async',
    };
    const peer = spawn(...pinned(python, [join(here, 'peer.py'), 'serve', String(PEER_PORT)]), {
      env: peerEnv,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(peer);
    // The harness's ceiling under this run's load: a bare node:http server answering a fixed
    // probabilities body, same CPU pin, same client.
    const echoCode = `const b=Buffer.from(JSON.stringify({model_name:'${MODEL}',outputs:[{name:'probabilities',shape:[1,2],datatype:'FP32',data:[0.9,0.1]}]}));require('node:http').createServer((q,r)=>{q.resume();q.on('end',()=>{r.writeHead(200,{'content-type':'application/json','content-length':b.length});r.end(b)})}).listen(${ECHO_PORT},'127.0.0.1')`;
    const echo = spawn(...pinned(process.execPath, ['-e', echoCode]), {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(echo);
    await waitReady(`http://127.0.0.1:${OUR_PORT}/v2/health/ready`, ours, 'vigil serve');
    await waitReady(
      `http://127.0.0.1:${UNBATCHED_PORT}/v2/health/ready`,
      unbatched,
      'vigil serve (batchRows 1)',
    );
    await waitReady(`http://127.0.0.1:${PEER_PORT}/v2/health/ready`, peer, 'the peer');
    await waitReady(`http://127.0.0.1:${ECHO_PORT}/`, echo, 'the echo server');

    // The patients the online store holds.
    const { stdout } = await run(python, [
      '-c',
      `import redis,json; r=redis.Redis(db=${REDIS_DB}); p=b'${PROJECT}'; print(json.dumps(sorted(k[:-len(p)].split(b'\\x00')[-1].decode() for k in r.scan_iter(count=1000) if k.endswith(p))))`,
    ]);
    const ids: string[] = JSON.parse(stdout);

    const targets: Record<'vigil' | 'unbatched' | 'peer' | 'explain' | 'echo', Target> = {
      vigil: {
        name: 'vigil',
        method: 'POST',
        port: OUR_PORT,
        pid: ours.pid,
        path: () => `/v2/models/${MODEL}/infer`,
        body: inferBody,
      },
      unbatched: {
        name: 'vigil unbatched',
        method: 'POST',
        port: UNBATCHED_PORT,
        pid: unbatched.pid,
        path: () => `/v2/models/${MODEL}/infer`,
        body: inferBody,
      },
      peer: {
        name: 'fastapi',
        method: 'POST',
        port: PEER_PORT,
        pid: peer.pid,
        path: () => `/v2/models/${MODEL}/infer`,
        body: inferBody,
      },
      explain: {
        name: 'vigil explain',
        method: 'GET',
        port: OUR_PORT,
        pid: ours.pid,
        path: (id) => `/patients/${id}/risk`,
        body: () => undefined,
      },
      echo: {
        name: 'echo ceiling',
        method: 'POST',
        port: ECHO_PORT,
        pid: echo.pid,
        path: () => `/v2/models/${MODEL}/infer`,
        body: inferBody,
      },
    };

    // Parity before timing: every patient, every server, the whole `probabilities` output
    // (name, datatype, shape, every element) to 1e-5, and no fallback answer among them.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let worst = 0;
    const bytes = { vigil: 0, peer: 0, risk: 0 };
    interface Output {
      name: string;
      datatype: string;
      shape: number[];
      data: number[];
    }
    const probabilitiesOf = (body: string): Output => {
      const parsed = JSON.parse(body) as { outputs: Output[]; parameters?: { fallback?: boolean } };
      if (parsed.parameters?.fallback) throw new Error(`a fallback answer: ${body.slice(0, 300)}`);
      return parsed.outputs.find((o) => o.name === 'probabilities')!;
    };
    /** The largest |Δ| between two outputs; Infinity when name, datatype or shape differ. */
    const gap = (a: Output, b: Output) =>
      a.name !== b.name || a.datatype !== b.datatype || JSON.stringify(a.shape) !== JSON.stringify(b.shape)
        ? Number.POSITIVE_INFINITY
        : Math.max(...a.data.map((v, i) => Math.abs(v - b.data[i]!)));
    const alone = new Map<string, Output>();
    for (const id of ids) {
      const a = await once(agent, targets.vigil, id);
      const u = await once(agent, targets.unbatched, id);
      const b = await once(agent, targets.peer, id);
      const e = await once(agent, targets.explain, id);
      if (a.status !== 200 || u.status !== 200 || b.status !== 200 || e.status !== 200)
        throw new Error(
          `${id}: vigil ${a.status} ${a.body.slice(0, 200)} / unbatched ${u.status} / peer ${b.status} ${b.body.slice(0, 200)} / risk ${e.status}`,
        );
      const pa = probabilitiesOf(a.body);
      const pu = probabilitiesOf(u.body);
      const pb = probabilitiesOf(b.body);
      const risk = JSON.parse(e.body) as { probability: number; fallback: boolean };
      if (risk.fallback) throw new Error(`${id}: /risk answered from the fallback`);
      alone.set(id, pa);
      bytes.vigil += Buffer.byteLength(a.body) / ids.length;
      bytes.peer += Buffer.byteLength(b.body) / ids.length;
      bytes.risk += Buffer.byteLength(e.body) / ids.length;
      const diff = Math.max(gap(pa, pb), gap(pa, pu), Math.abs(pa.data[1]! - risk.probability));
      worst = Math.max(worst, diff);
      if (!(diff <= 1e-5)) {
        throw new Error(
          `${id}: vigil ${JSON.stringify(pa)}, batchRows 1 ${JSON.stringify(pu)}, peer ${JSON.stringify(pb)}, risk ${risk.probability}: differ by ${diff}`,
        );
      }
    }
    agent.destroy();
    // Every patient at once on 32 connections: batched runs must give exactly the answers given one by one.
    const wide = new Agent({ keepAlive: true, maxSockets: 32 });
    const together = await Promise.all(ids.map((id) => once(wide, targets.vigil, id)));
    wide.destroy();
    together.forEach((answer, i) => {
      const id = ids[i]!;
      if (answer.status !== 200 || gap(probabilitiesOf(answer.body), alone.get(id)!) !== 0) {
        throw new Error(
          `${id}: answered ${answer.status} ${answer.body.slice(0, 200)} under concurrency, ${JSON.stringify(alone.get(id))} alone`,
        );
      }
    });
    console.log(
      `parity: ${ids.length} patients, both servers (and /risk, and vigil with batchRows 1) agree, max |Δp| = ${worst.toExponential(2)}; all ${ids.length} at once (32 connections) answered as one by one; mean answer bytes: vigil ${bytes.vigil.toFixed(0)}, fastapi ${bytes.peer.toFixed(0)}, /risk ${bytes.risk.toFixed(0)}`,
    );

    // The physical floor, in this run.
    const floorN = 2000;
    const py = JSON.parse(
      (
        await run(python, [join(here, 'peer.py'), 'floor', String(floorN), JSON.stringify(ids)], {
          env: peerEnv,
        })
      ).stdout,
    );
    const pyFloor = { redis: stats(py.redis_ms), model: stats(py.model_ms) };
    const jsFloor = await nodeFloor(join(modelDir, 'model.onnx'), Object.keys(viewsRead), names, ids, floorN);

    // Warm-up (JIT, connection pools, onnxruntime's first runs): 3 s each at c = 4, not counted.
    for (const k of ['vigil', 'unbatched', 'peer', 'explain', 'echo'] as const)
      await load(targets[k], ids, MODERATE, 3);

    // Load, alternating servers per step and the order per round.
    const steps: number[] = [];
    for (let c = 1; c <= MAX_CONNECTIONS; c *= 2) steps.push(c);
    const results: Record<string, Step[][]> = { vigil: [], unbatched: [], peer: [], explain: [], echo: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = (
        round % 2 === 0
          ? ['vigil', 'peer', 'unbatched', 'explain', 'echo']
          : ['peer', 'vigil', 'echo', 'explain', 'unbatched']
      ) as (keyof typeof targets)[];
      for (const k of order) results[k]!.push([]);
      for (const c of steps) {
        for (const k of order) {
          const s = await load(targets[k], ids, c, SECONDS);
          results[k]![round]!.push(s);
          console.log(
            `  round ${round + 1} c=${String(c).padStart(3)} ${targets[k].name.padEnd(15)} ${s.rps.toFixed(0).padStart(6)} req/s  p50 ${f2(s.p50)} ms  p99 ${f2(s.p99)} ms  cpu ${s.cpuUs === null ? '-' : s.cpuUs.toFixed(0)} µs/req${s.fallbacks > 0 ? `  FALLBACK ANSWERS ${s.fallbacks} (step not counted)` : ''}`,
          );
        }
      }
    }

    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    const summary = (k: string) => {
      const rounds = results[k]!;
      const best = rounds.map((r) =>
        r.filter((s) => s.p99 <= P99_TARGET_MS && s.fallbacks === 0).reduce((m, s) => Math.max(m, s.rps), 0),
      );
      const at = rounds.map((r) => r.find((s) => s.connections === MODERATE)!);
      const c1 = rounds.map((r) => r[0]!);
      const peak = rounds.map((r) =>
        r.filter((s) => s.fallbacks === 0).reduce((m, s) => Math.max(m, s.rps), 0),
      );
      // Busy CPU per request where the server is loaded (c ≥ the moderate step), over all rounds.
      const cpu = rounds.flatMap((r) =>
        r.filter((s) => s.connections >= MODERATE && s.cpuUs !== null).map((s) => s.cpuUs!),
      );
      return {
        cpuUs: cpu.length > 0 ? median(cpu) : null,
        bestRps: median(best),
        peakRps: median(peak),
        p50: median(at.map((s) => s.p50)),
        p99: median(at.map((s) => s.p99)),
        rpsAtModerate: median(at.map((s) => s.rps)),
        p50c1: median(c1.map((s) => s.p50)),
        p99c1: median(c1.map((s) => s.p99)),
      };
    };
    const v = summary('vigil');
    const u = summary('unbatched');
    const p = summary('peer');
    const e = summary('explain');
    const h = summary('echo');
    const floor = (f: typeof pyFloor) => ({ p50: f.redis.p50 + f.model.p50, p99: f.redis.p99 + f.model.p99 });
    console.log(
      `\nserve: ${ids.length} patients, GBT row model (${names.length} features), 1 id per request, ${ROUNDS} rounds × ${SECONDS} s per step, c = ${steps.join(',')}, medians over rounds`,
    );
    console.log(
      `                     req/s @p99≤${P99_TARGET_MS}ms  peak req/s   c=1 p50 / p99        c=${MODERATE} p50 / p99 (req/s)   busy CPU (c ≥ ${MODERATE})`,
    );
    for (const [label, s] of [
      ['vigil serve', v],
      ['  batchRows 1', u],
      ['fastapi peer', p],
      ['vigil /risk', e],
      ['echo ceiling', h],
    ] as const) {
      console.log(
        `  ${label.padEnd(18)} ${s.bestRps.toFixed(0).padStart(10)} ${s.peakRps.toFixed(0).padStart(12)}     ${f2(s.p50c1)} / ${f2(s.p99c1)} ms     ${f2(s.p50)} / ${f2(s.p99)} ms (${s.rpsAtModerate.toFixed(0)})   ${s.cpuUs === null ? '-' : s.cpuUs.toFixed(0)} µs CPU/req`,
      );
    }
    const pf = floor(pyFloor);
    const jf = floor(jsFloor);
    console.log(
      `  floor (python)     HMGET p50 ${f2(pyFloor.redis.p50)} p99 ${f2(pyFloor.redis.p99)} + onnxruntime p50 ${f2(pyFloor.model.p50)} p99 ${f2(pyFloor.model.p99)} = p50 ${f2(pf.p50)} / p99 ${f2(pf.p99)} ms`,
    );
    console.log(
      `  floor (node)       HMGET p50 ${f2(jsFloor.redis.p50)} p99 ${f2(jsFloor.redis.p99)} + onnxruntime p50 ${f2(jsFloor.model.p50)} p99 ${f2(jsFloor.model.p99)} = p50 ${f2(jf.p50)} / p99 ${f2(jf.p99)} ms`,
    );
    console.log(
      `  ratios             throughput @p99≤${P99_TARGET_MS}ms vigil/fastapi ${(v.bestRps / p.bestRps).toFixed(2)}× (target ≥ 3×), peak ${(v.peakRps / p.peakRps).toFixed(2)}×; with batchRows 1 ${(u.bestRps / p.bestRps).toFixed(2)}×, peak ${(u.peakRps / p.peakRps).toFixed(2)}×; c=1 p50 vigil/floor(node) ${(v.p50c1 / jf.p50).toFixed(2)}×, fastapi/floor(python) ${(p.p50c1 / pf.p50).toFixed(2)}×; /risk vs predict throughput ${(e.bestRps / v.bestRps).toFixed(2)}×${v.cpuUs !== null && p.cpuUs !== null ? `; busy CPU per request fastapi/vigil ${(p.cpuUs / v.cpuUs).toFixed(2)}×` : ''}${u.cpuUs !== null && p.cpuUs !== null ? `, fastapi/vigil batchRows 1 ${(p.cpuUs / u.cpuUs).toFixed(2)}×` : ''}`,
    );
    console.log(
      `\n${JSON.stringify({ vigil: v, unbatched: u, peer: p, explain: e, echo: h, floor: { python: pyFloor, node: jsFloor }, results })}`,
    );
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await sleep(500);
    await rm(workdir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
