import { runAction } from '@secgate/core/action';
import { adversarialStage } from './index.js';

await runAction([adversarialStage]);
