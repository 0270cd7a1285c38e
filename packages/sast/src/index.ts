import type { StageDefinition } from '@secgate/core';
import { banditAdapter } from './adapters/bandit.js';
import { gitSecretsAdapter } from './adapters/git-secrets.js';
import { gitleaksAdapter } from './adapters/gitleaks.js';
import { semgrepAdapter } from './adapters/semgrep.js';
import { SAST_EQUIVALENT_RULES } from './equivalences.js';

export { banditAdapter, banditSeverity, parseBanditReport, BANDIT_SEVERITY } from './adapters/bandit.js';
export { semgrepAdapter, parseSemgrepReport, rulepackDir, userRuleConfigs, SEMGREP_SEVERITY } from './adapters/semgrep.js';
export { gitleaksAdapter, parseGitleaksReport, secretsScanMode, GITLEAKS_SEVERITY } from './adapters/gitleaks.js';
export { gitSecretsAdapter, parseGitSecretsOutput, GIT_SECRETS_SEVERITY } from './adapters/git-secrets.js';

/** sast: runs on every commit — insecure patterns and hardcoded credentials. */
export const sastStage: StageDefinition = {
  id: 'sast',
  title: 'Static analysis',
  adapters: [banditAdapter, semgrepAdapter, gitleaksAdapter, gitSecretsAdapter],
  defaultTools: ['bandit', 'semgrep', 'gitleaks', 'git-secrets'],
  equivalentRules: SAST_EQUIVALENT_RULES
};

/** Stage-specific action inputs passed to adapters as options. */
export const SAST_OPTION_INPUTS = ['semgrep-rules', 'secrets-scan'] as const;
