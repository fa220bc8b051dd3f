/** The parts of lakeFS API v1 answers this adapter reads (see lakeFS's api/swagger.yml). */

export interface ApiCommit {
  id: string;
  parents: string[];
  message: string;
  /** Unix epoch seconds. */
  creation_date: number;
  metadata?: Record<string, string>;
}

export interface ApiObjectStats {
  path: string;
  path_type: 'object' | 'common_prefix';
  checksum: string;
  size_bytes?: number;
}

export interface ApiDiff {
  type: 'added' | 'removed' | 'changed' | 'conflict' | 'prefix_changed';
  path: string;
  path_type: 'object' | 'common_prefix';
}

export interface ApiRef {
  id: string;
  commit_id: string;
}

export interface ApiRepository {
  id: string;
  default_branch: string;
  storage_namespace: string;
}

export interface ApiMergeResult {
  reference: string;
}
