import { runAction } from '@secgate/core/action';
import { CONTAINER_OPTION_INPUTS, containerStage } from './index.js';

await runAction([containerStage], CONTAINER_OPTION_INPUTS);
