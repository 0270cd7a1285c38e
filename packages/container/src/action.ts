import { runAction } from '@secgate/core/action';
import { containerStage } from './index.js';

await runAction([containerStage]);
