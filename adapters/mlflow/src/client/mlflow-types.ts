/**
 * The subset of MLflow's REST API 2.0 messages the adapter reads (structural, from the protobuf
 * JSON the server sends). Empty fields are omitted by the server, so nearly everything is optional;
 * int64 fields may come as numbers or strings.
 */

export interface MlflowKeyValue {
  key: string;
  value?: string;
}

export interface MlflowMetric {
  key: string;
  value?: number | string;
  timestamp?: number | string;
  step?: number | string;
}

export interface MlflowExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
}

export interface MlflowRunInfo {
  run_id: string;
  experiment_id: string;
  run_name?: string;
  status?: string;
  start_time?: number | string;
  end_time?: number | string;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

export interface MlflowRun {
  info: MlflowRunInfo;
  data?: { params?: MlflowKeyValue[]; metrics?: MlflowMetric[]; tags?: MlflowKeyValue[] };
}

export interface MlflowRegisteredModel {
  name: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  description?: string;
  latest_versions?: { version: string }[];
  tags?: MlflowKeyValue[];
  aliases?: { alias: string; version: string }[];
}

export interface MlflowModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number | string;
  source?: string;
  run_id?: string;
  status?: string;
  description?: string;
  tags?: MlflowKeyValue[];
  aliases?: string[];
}
