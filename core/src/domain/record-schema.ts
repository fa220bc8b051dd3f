/** JSON type of a record field as a Source delivers it. */
export type FieldType = 'string' | 'number' | 'boolean' | 'timestamp';

/**
 * The shape of the records a job consumes, declared by the job (not by core), so that
 * adapters that build records from foreign data (file extracts, queues) can check a
 * mapping against it without knowing the domain.
 */
export interface RecordSchema {
  /** Every field a record may carry, with its type, in the order mapped records are written. */
  readonly fields: Readonly<Record<string, FieldType>>;
  /** Fields every record must carry. */
  readonly required: readonly string[];
  /** Fields filled by default when a mapping leaves them out (documented by the adapter). */
  readonly defaulted?: readonly string[];
  /** The field that tells record kinds apart, and the fields each kind needs besides `required`. */
  readonly discriminator?: {
    readonly field: string;
    readonly kinds: Readonly<Record<string, readonly string[]>>;
  };
  /** Fields whose values come from a fixed set. */
  readonly enums?: Readonly<Record<string, readonly string[]>>;
}
