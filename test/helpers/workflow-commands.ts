/** A workflow command as the runner would parse it from a line of step output. */
export interface WorkflowCommand {
  command: string;
  properties: Record<string, string>;
  message: string;
}

function unescapeData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

function unescapeProperty(s: string): string {
  return unescapeData(s).replace(/%3A/g, ':').replace(/%2C/g, ',');
}

/**
 * Parses stdout the way the runner does: a command is `::name key=value,...::message` at the
 * start of a line; `::stop-commands::TOKEN` … `::TOKEN::` disables parsing in between.
 */
export function parseWorkflowCommands(stdout: string): WorkflowCommand[] {
  const commands: WorkflowCommand[] = [];
  let stopToken: string | undefined;
  for (const line of stdout.split(/\r?\n/)) {
    const match = /^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!match) continue;
    const [, command, props, message] = match as unknown as [string, string, string | undefined, string];
    if (stopToken) {
      if (command === stopToken) stopToken = undefined;
      continue;
    }
    if (command === 'stop-commands') {
      stopToken = message;
      continue;
    }
    const properties: Record<string, string> = {};
    for (const pair of (props ?? '').split(',').filter(Boolean)) {
      const eq = pair.indexOf('=');
      if (eq > 0) properties[pair.slice(0, eq)] = unescapeProperty(pair.slice(eq + 1));
    }
    commands.push({ command: command.toLowerCase(), properties, message: unescapeData(message) });
  }
  return commands;
}

/** Parses a GITHUB_OUTPUT file (`name<<delimiter` heredoc form written by @actions/core). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      outputs[name] = value.join('\n');
      continue;
    }
    const eq = lines[i]!.indexOf('=');
    if (eq > 0) outputs[lines[i]!.slice(0, eq)] = lines[i]!.slice(eq + 1);
  }
  return outputs;
}
