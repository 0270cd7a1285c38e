import type { StageDefinition } from '@secgate/core';
import { ADVERSARIAL_OPTION_INPUTS, ADVERSARIAL_SECRET_INPUTS, adversarialStage } from '@secgate/adversarial';
import { CONTAINER_OPTION_INPUTS, containerStage } from '@secgate/container';
import { SAST_OPTION_INPUTS, sastStage } from '@secgate/sast';
import { SCA_OPTION_INPUTS, SCA_SECRET_INPUTS, scaStage } from '@secgate/sca';
import { ConfigurationError } from '@secgate/core';

/** Every stage, in pipeline order: what the CLI and the top-level action choose from. */
export const STAGES: readonly StageDefinition[] = [sastStage, scaStage, adversarialStage, containerStage];
export const STAGE_OPTION_INPUTS: readonly string[] = [...new Set<string>([...SAST_OPTION_INPUTS, ...SCA_OPTION_INPUTS, ...CONTAINER_OPTION_INPUTS, ...ADVERSARIAL_OPTION_INPUTS])];
/** Inputs masked before anything is logged (see SCA_SECRET_INPUTS). */
export const STAGE_SECRET_INPUTS: readonly string[] = [...SCA_SECRET_INPUTS, ...ADVERSARIAL_SECRET_INPUTS];
/** Tools that read git history (`secrets-scan`): the CLI gives them the local history to scan. */
export const HISTORY_TOOLS: readonly string[] = ['gitleaks', 'git-secrets'];

export function stagesByName(names: string[]): StageDefinition[] {
  const wanted = names.length > 0 ? names : ['sast'];
  return wanted.map((name) => {
    const stage = STAGES.find((s) => s.id === name);
    if (!stage) throw new ConfigurationError(`unknown stage '${name}'; choose from ${STAGES.map((s) => s.id).join(', ')}`, 'stages');
    return stage;
  });
}
