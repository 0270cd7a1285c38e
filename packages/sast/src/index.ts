import type { StageDefinition } from '@secgate/core';
import { banditAdapter } from './adapters/bandit.js';

export { banditAdapter, banditSeverity, parseBanditReport, BANDIT_SEVERITY } from './adapters/bandit.js';

/** sast: runs on every commit — insecure patterns and hardcoded credentials. */
export const sastStage: StageDefinition = {
  id: 'sast',
  title: 'Static analysis',
  adapters: [banditAdapter],
  defaultTools: ['bandit']
};

/** Stage-specific action inputs passed to adapters as options. */
export const SAST_OPTION_INPUTS = ['semgrep-rules', 'secrets-scan'] as const;
