import * as core from '@actions/core';
import type { Logger } from '../logger.js';
import { neutraliseCommands } from '../report/escape.js';

/**
 * Logger on the runner. Tool text can never start a workflow command, and warnings/errors go to
 * the log (coloured) rather than becoming annotations: GitHub's 10-per-level cap is kept for
 * findings and the one final failure message.
 */
export const actionsLogger: Logger = {
  debug: (m) => core.debug(neutraliseCommands(m)),
  info: (m) => core.info(neutraliseCommands(m)),
  warning: (m) => core.info(`\u001b[33mwarning:\u001b[0m ${neutraliseCommands(m)}`),
  error: (m) => core.info(`\u001b[31merror:\u001b[0m ${neutraliseCommands(m)}`),
  group: (name, fn) => core.group(neutraliseCommands(name), fn)
};
