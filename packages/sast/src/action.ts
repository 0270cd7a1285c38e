import { runAction } from '@secgate/core/action';
import { SAST_OPTION_INPUTS, sastStage } from './index.js';

await runAction([sastStage], SAST_OPTION_INPUTS);
