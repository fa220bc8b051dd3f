import type { JobConfigOf } from '@vigil/core';
import type { jobConfigSchema } from '../config.js';
import type { FeaturesConfig } from '../features/features-config.js';

/** The adverse-event job's config as its steps see it. */
export type AdverseEventsConfig = JobConfigOf<typeof jobConfigSchema>;

export const featuresSection = (c: AdverseEventsConfig) => c.sections.features as FeaturesConfig | undefined;
