// The sequence builder lives in core (jobs build a sequence model's inputs with it too).
export { type SequenceSource, toSequences } from '@vigil/core';
