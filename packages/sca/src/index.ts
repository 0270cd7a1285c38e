import type { StageDefinition } from '@secgate/core';
import { dependabotAdapter } from './adapters/dependabot.js';
import { modelscanAdapter } from './adapters/modelscan.js';
import { npmAuditAdapter } from './adapters/npm-audit.js';
import { osvScannerAdapter } from './adapters/osv-scanner.js';
import { picklescanAdapter } from './adapters/picklescan.js';
import { pipAuditAdapter } from './adapters/pip-audit.js';
import { safetyAdapter } from './adapters/safety.js';
import { snykAdapter } from './adapters/snyk.js';
import { SCA_EQUIVALENT_RULES } from './equivalences.js';

/**
 * sca: Dependency and model-artifact analysis. No tool adapters have landed yet (planned: pip-audit, Safety, osv-scanner, Snyk, Dependabot alerts, modelscan);
 * running the stage ends with a configuration error that says so, never a green "0 findings".
 */
/** The sca stage's option inputs (also CLI flags), passed to its adapters in `context.options`. */
export const SCA_OPTION_INPUTS = [
  'vulnerability-service',
  'osv-url',
  'osv-offline-db',
  'unknown-severity',
  'ignore-unfixed',
  'manifests',
  'model-paths'
] as const;

/**
 * Secret inputs: masked (core.setSecret) before anything is logged, passed to adapters in
 * `context.options`, and by them to tools only as environment variables. The CLI reads them from
 * SECGATE_SAFETY_API_KEY, SNYK_TOKEN and GITHUB_TOKEN, never from flags.
 */
export const SCA_SECRET_INPUTS = ['safety-api-key', 'snyk-token', 'token'] as const;

export const scaStage: StageDefinition = {
  id: 'sca',
  title: 'Dependency and model-artifact analysis',
  adapters: [pipAuditAdapter, osvScannerAdapter, modelscanAdapter, picklescanAdapter, npmAuditAdapter, safetyAdapter, snykAdapter, dependabotAdapter],
  defaultTools: ['pip-audit', 'osv-scanner', 'modelscan', 'picklescan', 'npm-audit'],
  equivalentRules: SCA_EQUIVALENT_RULES,
  planned: 'pip-audit, Safety, osv-scanner, Snyk, Dependabot alerts, modelscan'
};
