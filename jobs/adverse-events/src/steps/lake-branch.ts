import type { LakeStore } from '@vigil/core';

/**
 * Run `work` on a fresh branch taken from `from`, commit it and merge it into the default
 * branch, so the default branch never sees a half-written layer; a failure deletes the branch.
 * A lake without branching works on its default branch. Returns the merged commit.
 *
 * The merge is `source-wins`: a layer is a pure function of its inputs, so the branch's
 * output replaces what the default branch holds at the paths it rewrote. That is what a
 * rerun needs — `from` is the previous layer's commit, which predates this layer's last
 * output on the default branch, so every rewritten path would otherwise be a conflict.
 * Changes the default branch made elsewhere are kept. A path the layer no longer writes is
 * not deleted from the default branch (it was not on the branch's base either).
 */
export async function onLakeBranch(
  lake: LakeStore,
  options: { name: string; from: string; message: string; runId: string },
  work: (branch: string) => Promise<void>,
): Promise<string> {
  if (!lake.capabilities.branching) {
    await work(lake.defaultBranch);
    return (
      await lake.commit(lake.defaultBranch, options.message, {
        metadata: { runId: options.runId },
        allowEmpty: true,
      })
    ).id;
  }
  const branch = `${options.name}-${options.runId}`;
  await lake.deleteBranch(branch).catch(() => undefined);
  await lake.createBranch(branch, options.from);
  try {
    await work(branch);
    await lake.commit(branch, options.message, { metadata: { runId: options.runId }, allowEmpty: true });
    const merged = await lake.merge(branch, lake.defaultBranch, {
      message: `${options.message} (run ${options.runId})`,
      strategy: 'source-wins',
    });
    return merged.id;
  } finally {
    await lake.deleteBranch(branch).catch(() => undefined);
  }
}

/** Whether the lake still holds a commit (cached outputs naming it remain valid). */
export async function lakeHolds(lake: LakeStore, commit: unknown): Promise<boolean> {
  if (typeof commit !== 'string') return false;
  return lake.resolve(commit).then(
    () => true,
    () => false,
  );
}
