import { parseList } from '@secgate/core';
import { failStep, optionalInput, runAction } from '@secgate/core/action';
import { STAGE_OPTION_INPUTS, STAGE_SECRET_INPUTS, stagesByName } from './stages.js';

// The top-level action: `stages: sast,sca,container` runs those stages' tools in one scan.
try {
  const stages = stagesByName(parseList(optionalInput('stages') ?? 'sast'));
  await runAction(stages, STAGE_OPTION_INPUTS, STAGE_SECRET_INPUTS);
} catch (error) {
  failStep(`secgate: configuration: ${error instanceof Error ? error.message : String(error)}`);
}
