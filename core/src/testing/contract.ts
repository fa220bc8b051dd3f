/**
 * Contract suites: one per port, a list of cases every adapter of that port must pass.
 * A case runs against a fresh fixture from the adapter's factory. Cases that need a
 * capability name it in `requires` and are skipped when the adapter's flag is false.
 *
 * `describeContract` registers the cases with vitest; `checkContract` runs them outside a
 * test runner and reports what failed, which is how each suite proves (in its own tests)
 * that it catches a deliberately broken adapter.
 */
import { describe, it } from 'vitest';

export interface ContractFixture<T extends { capabilities: object }> {
  impl: T;
  /** Release everything the fixture created. */
  cleanup(): Promise<void>;
}

export interface ContractCase<F extends ContractFixture<{ capabilities: object }>> {
  name: string;
  /** Capability flags that must all be true for the case to run. */
  requires?: readonly string[];
  run(fixture: F): Promise<void>;
}

export interface Contract<F extends ContractFixture<{ capabilities: object }>> {
  port: string;
  cases: readonly ContractCase<F>[];
  /** The port's documented capability defaults, applied to flags an implementation leaves out. */
  defaults?: object;
}

export type FixtureFactory<F> = () => Promise<F>;

export interface ContractReport {
  passed: string[];
  skipped: string[];
  failed: { name: string; error: unknown }[];
}

/** Thrown by a case (through `skipCase`) when the fixture cannot exercise it, e.g. no `reopen`. */
export class ContractCaseSkipped extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ContractCaseSkipped';
  }
}

/** Skip the current case with a reason (reported as skipped, never as passed). */
export function skipCase(reason: string): never {
  throw new ContractCaseSkipped(reason);
}

function supported(
  capabilities: object,
  requires: readonly string[] | undefined,
  defaults: object = {},
): boolean {
  const flags: Record<string, unknown> = { ...defaults, ...capabilities };
  return (requires ?? []).every((flag) => flags[flag] === true);
}

async function runCase<F extends ContractFixture<{ capabilities: object }>>(
  c: ContractCase<F>,
  factory: FixtureFactory<F>,
  defaults: object | undefined,
): Promise<'passed' | 'skipped'> {
  const fixture = await factory();
  try {
    if (!supported(fixture.impl.capabilities, c.requires, defaults)) return 'skipped';
    await c.run(fixture);
    return 'passed';
  } catch (error) {
    if (error instanceof ContractCaseSkipped) return 'skipped';
    throw error;
  } finally {
    await fixture.cleanup();
  }
}

export async function checkContract<F extends ContractFixture<{ capabilities: object }>>(
  contract: Contract<F>,
  factory: FixtureFactory<F>,
  options: { timeoutMs?: number } = {},
): Promise<ContractReport> {
  const report: ContractReport = { passed: [], skipped: [], failed: [] };
  const timeoutMs = options.timeoutMs ?? 10_000;
  for (const c of contract.cases) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const outcome = await Promise.race([
        runCase(c, factory, contract.defaults),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      report[outcome].push(c.name);
    } catch (error) {
      report.failed.push({ name: c.name, error });
    } finally {
      clearTimeout(timer);
    }
  }
  return report;
}

/** Register every case of a contract as a vitest test under `describe(<port> contract: <label>)`. */
export function describeContract<F extends ContractFixture<{ capabilities: object }>>(
  contract: Contract<F>,
  label: string,
  factory: FixtureFactory<F>,
): void {
  describe(`${contract.port} contract: ${label}`, () => {
    for (const c of contract.cases) {
      it(c.name, async (ctx) => {
        const fixture = await factory();
        try {
          if (!supported(fixture.impl.capabilities, c.requires, contract.defaults)) {
            ctx.skip();
            return;
          }
          await c.run(fixture);
        } catch (error) {
          if (error instanceof ContractCaseSkipped) {
            ctx.skip(error.message);
            return;
          }
          throw error;
        } finally {
          await fixture.cleanup();
        }
      });
    }
  });
}
