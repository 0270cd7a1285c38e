import { runAction } from '@secgate/core/action';
import { scaStage } from './index.js';

await runAction([scaStage]);
