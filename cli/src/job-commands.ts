import type { AnyJob, ComponentRegistry, JobCommand } from '@vigil/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createCommandHost } from './command-host.js';

/** commander's parser for an option: the job's parse, its Error turned into commander's. */
function argParser(parse: (value: string, previous: unknown) => unknown) {
  return (value: string, previous: unknown) => {
    try {
      return parse(value, previous);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}

function addCommand(
  parent: Command,
  command: JobCommand,
  job: AnyJob,
  registry: () => ComponentRegistry,
): void {
  const cmd = parent.command(command.name).description(command.description);
  for (const argument of command.arguments ?? []) cmd.argument(argument);
  for (const o of command.options ?? []) {
    const option = new Option(o.flags, o.description);
    if (o.parse) option.argParser(argParser(o.parse));
    if (o.required) option.makeOptionMandatory();
    cmd.addOption(option);
  }
  for (const sub of command.subcommands ?? []) addCommand(cmd, sub, job, registry);
  const run = command.run;
  if (!run) return;
  cmd.action(async (...params: unknown[]) => {
    const self = params.at(-1) as Command;
    const args = params
      .slice(0, command.arguments?.length ?? 0)
      .map((a) => (a === undefined ? '' : String(a)));
    const host = createCommandHost(registry(), job);
    try {
      process.exitCode = await run(host, args, self.opts());
    } finally {
      await host.dispose();
    }
  });
}

/**
 * Register the commands of every registered job (`vigil simulate`, `vigil features …`)
 * with their options, arguments and subcommands. A name the CLI or an earlier job already
 * uses is skipped. `registry` gives a fresh registry for each run of a command.
 */
export function registerJobCommands(program: Command, registry: () => ComponentRegistry): void {
  for (const job of registry().jobs()) {
    for (const command of job.commands ?? []) {
      if (program.commands.some((c) => c.name() === command.name)) continue;
      addCommand(program, command, job, registry);
    }
  }
}
