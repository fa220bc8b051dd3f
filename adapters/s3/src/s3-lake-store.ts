import type { S3Client } from '@aws-sdk/client-s3';
import {
  assertMessage,
  assertObjectData,
  assertObjectPath,
  assertPrefix,
  assertRef,
  type Commit,
  checkedLogLimit,
  checkedMetadata,
  type DiffEntry,
  type LakeCapabilities,
  type LakeStore,
  type ObjectInfo,
  VigilError,
} from '@vigil/core';
import { isCommitId } from './commits/commit-id.js';
import {
  type CommitMarker,
  type ManifestEntry,
  newMarker,
  parseMarker,
  toCommit,
} from './commits/commit-marker.js';
import { comparePaths, diffManifests } from './commits/manifest-diff.js';
import { mapLimit } from './concurrency/map-limit.js';
import { RESERVED_FOLDER, S3_OBJECT_PATH_RULES } from './paths/object-path.js';
import { isNotFound, isPreconditionFailed, s3Failure } from './s3/s3-errors.js';

export type S3Sdk = typeof import('@aws-sdk/client-s3');

export interface S3LakeStoreOptions {
  sdk: S3Sdk;
  client: S3Client;
  bucket: string;
  /** Key prefix of the lake: '' or ending with '/'. */
  root: string;
  defaultBranch: string;
  /** Bucket versioning is enabled: commit markers pin object versions, so old commits stay readable. */
  versioned: boolean;
}

/** Where a ref points: the live objects of the (only) branch, or a commit's manifest. */
type View = { kind: 'branch' } | { kind: 'commit'; marker: CommitMarker };

const CAPABILITIES: LakeCapabilities = { branching: false, merge: false, revert: false, directRead: false };
const MARKER_FOLDER = `${RESERVED_FOLDER}commits/`;
const MARKER_KEY = /^([0-9a-f]{20})\.json$/;

/**
 * LakeStore on a plain S3 bucket: one branch whose objects are the live keys under the
 * prefix, so `put` and `delete` are visible at once. `commit` writes a marker
 * (`<prefix>_vigil/commits/<id>.json`) holding the whole object manifest (path, size, ETag and,
 * on a versioned bucket, VersionId) and the changes since the previous marker. Reads at a
 * commit id use the manifest: by VersionId on a versioned bucket (old commits are immutable),
 * otherwise the live object guarded by If-Match on the recorded ETag (an object changed or
 * deleted since reads as VIGIL_LAKE_NOT_FOUND, never as the wrong bytes).
 */
export class S3LakeStore implements LakeStore {
  readonly capabilities: LakeCapabilities = { ...CAPABILITIES };
  readonly defaultBranch: string;
  readonly #sdk: S3Sdk;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #root: string;
  readonly #versioned: boolean;
  readonly #markers = new Map<string, CommitMarker>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #commitQueue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(options: S3LakeStoreOptions) {
    this.#sdk = options.sdk;
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#root = options.root;
    this.defaultBranch = options.defaultBranch;
    this.#versioned = options.versioned;
  }

  /** Open the lake; a lake without any commit marker gets an initial empty-or-current one. */
  static async open(options: S3LakeStoreOptions): Promise<S3LakeStore> {
    const store = new S3LakeStore(options);
    if ((await store.#headId()) === null) {
      await store.commit(store.defaultBranch, 'lake created', { allowEmpty: true });
    }
    return store;
  }

  /** Whether commits pin object versions (bucket versioning enabled when the store opened). */
  get versioned(): boolean {
    return this.#versioned;
  }

  // ---- objects -------------------------------------------------------------------------

  async put(branch: string, path: string, data: Uint8Array): Promise<ObjectInfo> {
    return this.#track(async () => {
      this.#assertBranch(branch, 'branch');
      assertObjectPath(path, S3_OBJECT_PATH_RULES);
      assertObjectData(path, data);
      const out = await this.#send('PutObject', path, () =>
        this.#client.send(
          new this.#sdk.PutObjectCommand({
            Bucket: this.#bucket,
            Key: this.#root + path,
            Body: data,
            ContentLength: data.byteLength,
          }),
        ),
      );
      return { path, size: data.byteLength, checksum: etag(out.ETag, path) };
    });
  }

  async get(ref: string, path: string): Promise<Uint8Array | null> {
    return this.#track(async () => {
      assertObjectPath(path, S3_OBJECT_PATH_RULES);
      const view = await this.#view(ref, 'ref');
      if (view.kind === 'branch') return this.#read(path, {});
      const entry = view.marker.objects.find((e) => e.path === path);
      if (!entry) return null;
      const pinned =
        entry.versionId === undefined ? { ifMatch: `"${entry.etag}"` } : { versionId: entry.versionId };
      const data = await this.#read(path, pinned);
      if (data === null) {
        throw new VigilError(
          'VIGIL_LAKE_NOT_FOUND',
          entry.versionId === undefined
            ? `object '${path}' at commit ${view.marker.id} was changed or deleted since, and bucket '${this.#bucket}' has no versioning to keep the old bytes`
            : `object '${path}' at commit ${view.marker.id}: version ${entry.versionId} is gone from bucket '${this.#bucket}'`,
          { details: { ref, path } },
        );
      }
      return data;
    });
  }

  async list(ref: string, prefix = ''): Promise<ObjectInfo[]> {
    return this.#track(async () => {
      assertPrefix(prefix);
      const view = await this.#view(ref, 'ref');
      const entries =
        view.kind === 'branch'
          ? await this.#listLive(prefix)
          : view.marker.objects.filter((e) => e.path.startsWith(prefix));
      return entries.map((e) => ({ path: e.path, size: e.size, checksum: e.etag }));
    });
  }

  async delete(branch: string, path: string): Promise<void> {
    return this.#track(async () => {
      this.#assertBranch(branch, 'branch');
      assertObjectPath(path, S3_OBJECT_PATH_RULES);
      await this.#send('DeleteObject', path, () =>
        this.#client.send(
          new this.#sdk.DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#root + path }),
        ),
      );
    });
  }

  async locate(_ref: string, path: string): Promise<string> {
    throw unsupported(
      'directRead',
      `locate('${path}')`,
      'read the object with get() and copy it to a local file',
    );
  }

  // ---- commits -------------------------------------------------------------------------

  async commit(
    branch: string,
    message: string,
    options: { metadata?: Record<string, string>; allowEmpty?: boolean } = {},
  ): Promise<Commit> {
    return this.#track(() =>
      this.#serialCommit(async () => {
        this.#assertBranch(branch, 'branch');
        assertMessage(message);
        const metadata = checkedMetadata(options.metadata);
        const headId = await this.#headId();
        const head = headId === null ? null : await this.#marker(headId);
        const objects = await this.#snapshot();
        const changes = diffManifests(head?.objects ?? [], objects);
        if (changes.length === 0 && !options.allowEmpty) {
          throw new VigilError(
            'VIGIL_LAKE_NO_CHANGES',
            `nothing changed on branch '${branch}' since commit ${headId ?? '(none)'}`,
            { details: { branch } },
          );
        }
        // Strictly after the parent, so ids (and committedAt) order commits even within one millisecond.
        const parentMs = head === null ? 0 : Date.parse(head.committedAt);
        const marker = newMarker({
          parents: head === null ? [] : [head.id],
          message,
          metadata,
          committedAtMs: Math.max(Date.now(), parentMs + 1),
          objects,
          changes,
        });
        await this.#send('PutObject', `commit marker ${marker.id}`, () =>
          this.#client.send(
            new this.#sdk.PutObjectCommand({
              Bucket: this.#bucket,
              Key: this.#markerKey(marker.id),
              Body: JSON.stringify(marker),
              ContentType: 'application/json',
            }),
          ),
        );
        this.#markers.set(marker.id, marker);
        return toCommit(marker);
      }),
    );
  }

  async resolve(ref: string): Promise<string> {
    return this.#track(async () => {
      const view = await this.#view(ref, 'ref');
      return view.kind === 'commit' ? view.marker.id : this.#requireHead();
    });
  }

  async log(ref: string, options: { limit?: number } = {}): Promise<Commit[]> {
    return this.#track(async () => {
      const limit = checkedLogLimit(options.limit);
      const view = await this.#view(ref, 'ref');
      // Marker keys sort newest first; a commit's log starts at its own key.
      const startAfter =
        view.kind === 'commit' ? this.#markerKey(view.marker.id).replace(/\.json$/, '') : undefined;
      const ids = await this.#markerIds(limit, startAfter);
      const markers = await mapLimit(ids, 8, (id) => this.#marker(id));
      return markers.filter((m): m is CommitMarker => m !== null).map(toCommit);
    });
  }

  async diff(from: string, to: string): Promise<DiffEntry[]> {
    return this.#track(async () => {
      const [a, b] = await Promise.all([this.#manifestAt(from, 'from'), this.#manifestAt(to, 'to')]);
      return diffManifests(a, b);
    });
  }

  async listBranches(): Promise<{ name: string; commitId: string }[]> {
    return this.#track(async () => [{ name: this.defaultBranch, commitId: await this.#requireHead() }]);
  }

  async createBranch(name: string, _from: string): Promise<void> {
    throw unsupported('branching', `createBranch('${name}')`, 'use a lakeFS lake for run branches');
  }

  async deleteBranch(name: string): Promise<void> {
    throw unsupported('branching', `deleteBranch('${name}')`, 'use a lakeFS lake for run branches');
  }

  async merge(source: string, into: string): Promise<Commit> {
    throw unsupported('merge', `merge('${source}' into '${into}')`, 'use a lakeFS lake for merges');
  }

  async revert(branch: string, commitId: string): Promise<Commit> {
    throw unsupported('revert', `revert(${commitId} on '${branch}')`, 'use a lakeFS lake for reverts');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    this.#client.destroy();
  }

  // ---- internals -----------------------------------------------------------------------

  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new VigilError('VIGIL_KERNEL_CLOSED', `s3 lake at ${this.#where()} is closed`));
    }
    const promise = work();
    this.#inFlight.add(promise);
    const forget = () => this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /** Commits of this client run one at a time, so each one's parent is the previous one. */
  #serialCommit<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#commitQueue.then(work, work);
    this.#commitQueue = run.catch(() => undefined);
    return run;
  }

  #where(): string {
    return `s3://${this.#bucket}/${this.#root}`;
  }

  #markerKey(id: string): string {
    return `${this.#root}${MARKER_FOLDER}${id}.json`;
  }

  #assertBranch(branch: string, field: string): void {
    if (branch === this.defaultBranch) return;
    assertRef(branch, field);
    throw new VigilError(
      'VIGIL_LAKE_NOT_FOUND',
      `branch '${branch}' does not exist: the s3 lake at ${this.#where()} has one branch, '${this.defaultBranch}' (no branching)`,
      { details: { branch } },
    );
  }

  async #view(ref: string, field: string): Promise<View> {
    if (ref === this.defaultBranch) return { kind: 'branch' };
    assertRef(ref, field);
    const marker = isCommitId(ref) ? await this.#marker(ref) : null;
    if (marker === null) {
      throw new VigilError(
        'VIGIL_LAKE_NOT_FOUND',
        `ref '${ref}' is neither branch '${this.defaultBranch}' (the only branch) nor a commit of the s3 lake at ${this.#where()}`,
        { details: { ref } },
      );
    }
    return { kind: 'commit', marker };
  }

  async #manifestAt(ref: string, field: string): Promise<ManifestEntry[]> {
    const view = await this.#view(ref, field);
    return view.kind === 'branch' ? this.#listLive('') : view.marker.objects;
  }

  /** A commit marker by id (cached: markers never change), or null when there is none. */
  async #marker(id: string): Promise<CommitMarker | null> {
    const cached = this.#markers.get(id);
    if (cached) return cached;
    const key = this.#markerKey(id);
    const bytes = await this.#getKey(key, `commit marker ${id}`, {});
    if (bytes === null) return null;
    const marker = parseMarker(new TextDecoder().decode(bytes));
    if (typeof marker === 'string' || marker.id !== id) {
      throw new VigilError(
        'VIGIL_COMPONENT_FAILED',
        `s3://${this.#bucket}/${key} is not a valid commit marker: ${typeof marker === 'string' ? marker : `it names commit ${marker.id}`}`,
      );
    }
    this.#markers.set(id, marker);
    return marker;
  }

  async #headId(): Promise<string | null> {
    return (await this.#markerIds(1))[0] ?? null;
  }

  async #requireHead(): Promise<string> {
    const head = await this.#headId();
    if (head === null) {
      throw new VigilError(
        'VIGIL_LAKE_NOT_FOUND',
        `branch '${this.defaultBranch}' has no commit: no markers under ${this.#where()}${MARKER_FOLDER}`,
        { details: { branch: this.defaultBranch } },
      );
    }
    return head;
  }

  /** Ids of commit markers, newest first, at most `limit`, after the key `startAfter`. */
  async #markerIds(limit: number, startAfter?: string): Promise<string[]> {
    const ids: string[] = [];
    const folder = this.#root + MARKER_FOLDER;
    let token: string | undefined;
    do {
      const page = await this.#send('ListObjectsV2', folder, () =>
        this.#client.send(
          new this.#sdk.ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: folder,
            StartAfter: token === undefined ? startAfter : undefined,
            ContinuationToken: token,
            MaxKeys: Number.isFinite(limit) ? Math.min(1000, Math.max(1, limit - ids.length)) : 1000,
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        const id = MARKER_KEY.exec((object.Key ?? '').slice(folder.length))?.[1];
        if (id !== undefined && ids.length < limit) ids.push(id);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined && ids.length < limit);
    return ids;
  }

  /** The live objects under `prefix` (lake paths), sorted by path, without the reserved folder. */
  async #listLive(prefix: string): Promise<ManifestEntry[]> {
    const out: ManifestEntry[] = [];
    const full = this.#root + prefix;
    let token: string | undefined;
    do {
      const page = await this.#send('ListObjectsV2', full || '(bucket root)', () =>
        this.#client.send(
          new this.#sdk.ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: full,
            ContinuationToken: token,
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        const path = (object.Key ?? '').slice(this.#root.length);
        if (path.startsWith(RESERVED_FOLDER) || path === '') continue;
        out.push({ path, size: object.Size ?? 0, etag: etag(object.ETag, path) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out.sort((a, b) => comparePaths(a.path, b.path));
  }

  /** Every live object of the lake, with its VersionId when the bucket is versioned. */
  async #snapshot(): Promise<ManifestEntry[]> {
    if (!this.#versioned) return this.#listLive('');
    const out: ManifestEntry[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    let truncated = false;
    do {
      const page = await this.#send('ListObjectVersions', this.#root || '(bucket root)', () =>
        this.#client.send(
          new this.#sdk.ListObjectVersionsCommand({
            Bucket: this.#bucket,
            Prefix: this.#root,
            KeyMarker: keyMarker,
            VersionIdMarker: versionMarker,
          }),
        ),
      );
      for (const version of page.Versions ?? []) {
        if (!version.IsLatest) continue;
        const path = (version.Key ?? '').slice(this.#root.length);
        if (path.startsWith(RESERVED_FOLDER) || path === '') continue;
        out.push({
          path,
          size: version.Size ?? 0,
          etag: etag(version.ETag, path),
          ...(version.VersionId && version.VersionId !== 'null' ? { versionId: version.VersionId } : {}),
        });
      }
      truncated = page.IsTruncated === true;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    } while (truncated);
    return out.sort((a, b) => comparePaths(a.path, b.path));
  }

  /** An object's bytes, or null when it (or the pinned version / ETag) does not exist. */
  #read(path: string, pin: { versionId?: string; ifMatch?: string }): Promise<Uint8Array | null> {
    return this.#getKey(this.#root + path, path, pin);
  }

  async #getKey(
    key: string,
    label: string,
    pin: { versionId?: string; ifMatch?: string },
  ): Promise<Uint8Array | null> {
    try {
      const out = await this.#client.send(
        new this.#sdk.GetObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          VersionId: pin.versionId,
          IfMatch: pin.ifMatch,
        }),
      );
      if (!out.Body) throw new Error('the response has no body');
      return await out.Body.transformToByteArray();
    } catch (error) {
      if (isNotFound(error) || isPreconditionFailed(error)) return null;
      throw s3Failure('GetObject', `'${label}' in ${this.#where()}`, error);
    }
  }

  async #send<T>(operation: string, target: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw s3Failure(operation, `'${target}' in ${this.#where()}`, error);
    }
  }
}

function etag(value: string | undefined, path: string): string {
  if (!value) {
    throw new VigilError('VIGIL_COMPONENT_FAILED', `S3 returned no ETag for '${path}'`, {
      details: { path },
    });
  }
  return value.replace(/^"|"$/g, '');
}

function unsupported(capability: keyof LakeCapabilities, operation: string, hint: string): VigilError {
  return new VigilError(
    'VIGIL_LAKE_UNSUPPORTED',
    `${operation} needs the '${capability}' capability, which the s3 lake store does not have (plain S3 has no ${capability === 'directRead' ? 'local files to read directly here' : 'branches'}); ${hint}`,
    { details: { capability } },
  );
}
