export { runAction, conclude, eventCommitRange } from './run-action.js';
export { publishResult, publishCheckRun } from './reporter.js';
export { readSettings, optionalInput, booleanInput } from './inputs.js';
export { actionsLogger, failStep } from './logger.js';
