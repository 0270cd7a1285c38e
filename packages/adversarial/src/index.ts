import type { StageDefinition } from '@secgate/core';
import { artAdapter } from './adapters/art.js';
import { garakAdapter } from './adapters/garak.js';
import { promptfooAdapter } from './adapters/promptfoo.js';
import { schemathesisAdapter } from './adapters/schemathesis.js';

/** The adversarial stage's option inputs (also CLI flags), passed to its adapters in `context.options`. */
export const ADVERSARIAL_OPTION_INPUTS = [
  'mode',
  'target',
  'api-key-header',
  'max-queries',
  'profile',
  'concurrency',
  'rate-limit',
  'seed',
  'baseline-report',
  'regression-margin',
  'eval-data',
  'request-template',
  'response-path',
  'input-range',
  'epsilon',
  'norm',
  'attacks',
  'samples',
  'model-file',
  'min-robust-accuracy',
  'max-attack-success-rate',
  'min-clean-accuracy',
  'model',
  'engines',
  'probes',
  'openapi'
] as const;

/**
 * Secret inputs: masked before anything is logged, passed to adapters in `context.options`, and by
 * them to tools only in an environment variable. The CLI reads the key from SECGATE_ADVERSARIAL_API_KEY.
 */
export const ADVERSARIAL_SECRET_INPUTS = ['api-key'] as const;

/**
 * adversarial: attacks a live model endpoint in staging and gates on robustness. `mode` picks the
 * tools: classifier -> ART (the runner shipped with the action), llm -> garak and promptfoo, api ->
 * schemathesis; tools of another mode are not applicable.
 */
export const adversarialStage: StageDefinition = {
  id: 'adversarial',
  title: 'Adversarial testing of a live model endpoint',
  adapters: [artAdapter, garakAdapter, promptfooAdapter, schemathesisAdapter],
  defaultTools: ['art', 'garak', 'promptfoo', 'schemathesis']
};
