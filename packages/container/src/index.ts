import type { StageDefinition } from '@secgate/core';

/**
 * container: Container images and infrastructure as code. No tool adapters have landed yet (planned: Trivy, Checkov, hadolint, Clair);
 * running the stage ends with a configuration error that says so, never a green "0 findings".
 */
export const containerStage: StageDefinition = {
  id: 'container',
  title: 'Container images and infrastructure as code',
  adapters: [],
  defaultTools: [],
  planned: 'Trivy, Checkov, hadolint, Clair'
};
