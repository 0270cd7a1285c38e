import type { StageDefinition } from '@secgate/core';

/**
 * adversarial: Adversarial testing of a live model endpoint. No tool adapters have landed yet (planned: ART, garak, promptfoo, schemathesis, RESTler);
 * running the stage ends with a configuration error that says so, never a green "0 findings".
 */
export const adversarialStage: StageDefinition = {
  id: 'adversarial',
  title: 'Adversarial testing of a live model endpoint',
  adapters: [],
  defaultTools: [],
  planned: 'ART, garak, promptfoo, schemathesis, RESTler'
};
