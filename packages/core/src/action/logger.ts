import * as core from '@actions/core';
import type { Logger } from '../logger.js';
import { LOG_LINE_LIMIT, commandText, safeLogText } from '../report/escape.js';

/** `::debug::` and `::group::` carry their text as command data, all on one line: kept short. */
const COMMAND_DATA_MAX = 4000;
/** Room for the coloured `warning:`/`error:` prefix within LOG_LINE_LIMIT. */
const PREFIX_ROOM = 32;

/**
 * Logger on the runner. Tool text can never start a workflow command and no line is longer than
 * LOG_LINE_LIMIT (see escape.ts). Warnings/errors go to the log (coloured) rather than becoming
 * annotations: GitHub's 10-per-level cap is kept for findings and the one final failure message.
 */
export const actionsLogger: Logger = {
  debug: (m) => core.debug(commandText(m, COMMAND_DATA_MAX)),
  info: (m) => core.info(safeLogText(m)),
  warning: (m) => core.info(`\u001b[33mwarning:\u001b[0m ${safeLogText(m, LOG_LINE_LIMIT - PREFIX_ROOM)}`),
  error: (m) => core.info(`\u001b[31merror:\u001b[0m ${safeLogText(m, LOG_LINE_LIMIT - PREFIX_ROOM)}`),
  group: (name, fn) => core.group(commandText(name, 1000, true), fn)
};

/**
 * The step's final failure message (`::error::…`, one line): cleaned and capped like an
 * annotation. Use this instead of `core.setFailed` for any text that holds tool or file content.
 */
export function failStep(message: string): void {
  core.setFailed(commandText(message, COMMAND_DATA_MAX));
}
