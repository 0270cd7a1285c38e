import { runAction } from '@secgate/core/action';
import { SCA_OPTION_INPUTS, SCA_SECRET_INPUTS, scaStage } from './index.js';

await runAction([scaStage], SCA_OPTION_INPUTS, SCA_SECRET_INPUTS);
