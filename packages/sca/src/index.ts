import type { StageDefinition } from '@secgate/core';

/**
 * sca: Dependency and model-artifact analysis. No tool adapters have landed yet (planned: pip-audit, Safety, osv-scanner, Snyk, Dependabot alerts, modelscan);
 * running the stage ends with a configuration error that says so, never a green "0 findings".
 */
export const scaStage: StageDefinition = {
  id: 'sca',
  title: 'Dependency and model-artifact analysis',
  adapters: [],
  defaultTools: [],
  planned: 'pip-audit, Safety, osv-scanner, Snyk, Dependabot alerts, modelscan'
};
