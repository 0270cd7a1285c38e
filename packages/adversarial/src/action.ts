import { runAction } from '@secgate/core/action';
import { ADVERSARIAL_OPTION_INPUTS, ADVERSARIAL_SECRET_INPUTS, adversarialStage } from './index.js';

await runAction([adversarialStage], ADVERSARIAL_OPTION_INPUTS, ADVERSARIAL_SECRET_INPUTS);
