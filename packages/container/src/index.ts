import type { StageDefinition } from '@secgate/core';
import { checkovAdapter } from './adapters/checkov.js';
import { clairAdapter } from './adapters/clair.js';
import { hadolintAdapter } from './adapters/hadolint.js';
import { trivyAdapter } from './adapters/trivy.js';
import { CONTAINER_EQUIVALENT_RULES } from './equivalences.js';

/** The container stage's option inputs (also CLI flags), passed to its adapters in `context.options`. */
export const CONTAINER_OPTION_INPUTS = [
  'image',
  'image-tar',
  'dockerfile',
  'iac-paths',
  'scanners',
  'unknown-severity',
  'ignore-unfixed',
  'trivy-db-dir',
  'trivy-db-repository',
  'trivy-db-max-age',
  'clair-url',
  'clair-layer-host'
] as const;

/**
 * container: the pre-deployment stage. The image (vulnerabilities, secrets in layers and config,
 * image-config misconfigurations), its Dockerfile and the infrastructure as code it deploys with.
 */
export const containerStage: StageDefinition = {
  id: 'container',
  title: 'Container images and infrastructure as code',
  adapters: [trivyAdapter, checkovAdapter, hadolintAdapter, clairAdapter],
  defaultTools: ['trivy', 'checkov', 'hadolint', 'clair'],
  equivalentRules: CONTAINER_EQUIVALENT_RULES
};
