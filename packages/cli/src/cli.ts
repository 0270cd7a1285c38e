import { Command, Option } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DEFAULT_BASELINE_FILE,
  SecgateError,
  ToolInstaller,
  buildJsonReport,
  buildSarif,
  errorMessage,
  parseList,
  prepareScan,
  runScan,
  writeBaseline,
  type RawSettings
} from '@secgate/core';
import { STAGES, stagesByName } from './stages.js';
import { renderReport, terminalLogger } from './terminal.js';

/** Exit codes mirror the gate (documented in README). */
export const EXIT = { pass: 0, fail: 1, configuration: 2, tool: 3, internal: 4 } as const;

interface ScanFlags {
  stage: string;
  tools?: string;
  failOn?: string;
  reportSeverity?: string;
  newOnly?: string;
  config?: string;
  baseline?: string;
  exclude?: string;
  sarif?: string;
  json?: string;
  toolVersions?: string;
  allowUnverifiedTools?: boolean;
  timeoutMinutes?: string;
  mirrorUrl?: string;
  pipIndexUrl?: string;
  python?: string;
  semgrepRules?: string;
  secretsScan?: string;
  verbose?: boolean;
}

/** Outside a runner, tool-cache needs these; a per-user cache makes the second run fast. */
function ensureRunnerDirs(): void {
  const cacheHome = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  process.env['RUNNER_TOOL_CACHE'] ||= path.join(cacheHome, 'secgate', 'tools');
  process.env['RUNNER_TEMP'] ||= path.join(os.tmpdir(), 'secgate');
}

function settingsFrom(target: string, flags: ScanFlags): RawSettings {
  const options: Record<string, string> = {};
  if (flags.semgrepRules) options['semgrep-rules'] = flags.semgrepRules;
  if (flags.secretsScan) options['secrets-scan'] = flags.secretsScan;
  return {
    workspace: target,
    tools: flags.tools,
    exclude: flags.exclude,
    failOn: flags.failOn,
    reportSeverity: flags.reportSeverity,
    newOnly: flags.newOnly,
    config: flags.config,
    baseline: flags.baseline,
    toolVersions: flags.toolVersions,
    allowUnverifiedTools: flags.allowUnverifiedTools,
    timeoutMinutes: flags.timeoutMinutes,
    mirrorUrl: flags.mirrorUrl ?? process.env['SECGATE_MIRROR_URL'],
    pipIndexUrl: flags.pipIndexUrl,
    python: flags.python,
    options
  };
}

async function scan(target: string, flags: ScanFlags, writeBaselineTo?: string): Promise<number> {
  ensureRunnerDirs();
  const logger = terminalLogger(Boolean(flags.verbose));
  const stages = stagesByName(parseList(flags.stage));
  const prepared = await prepareScan(stages, settingsFrom(target, flags), { logger, now: new Date() });
  const installer = new ToolInstaller({ ...prepared.installer, logger });
  const result = await runScan(prepared.request, { installer, logger });
  if (writeBaselineTo) {
    if (result.errors.length > 0) {
      process.stdout.write(renderReport(result) + '\n');
      logger.error('baseline not written: a tool failed, so the baseline would be incomplete');
      return EXIT.tool;
    }
    const file = path.resolve(prepared.request.workspace, writeBaselineTo);
    const written = await writeBaseline(file, result.findings);
    logger.info(`Wrote ${written.findings.length} fingerprint(s) to ${file}`);
    return EXIT.pass;
  }
  if (flags.sarif) {
    await mkdir(path.dirname(path.resolve(flags.sarif)), { recursive: true });
    await writeFile(flags.sarif, buildSarif(result).text);
  }
  if (flags.json) {
    await mkdir(path.dirname(path.resolve(flags.json)), { recursive: true });
    await writeFile(flags.json, buildJsonReport(result));
  }
  process.stdout.write(renderReport(result) + '\n');
  return result.verdict === 'pass' ? EXIT.pass : result.verdict === 'fail' ? EXIT.fail : EXIT.tool;
}

function addScanOptions(command: Command): Command {
  return command
    .option('-s, --stage <stages>', `comma list of stages (${STAGES.map((s) => s.id).join(', ')})`, 'sast')
    .option('-t, --tools <tools>', 'comma list of tools (default: each stage’s defaults)')
    .addOption(new Option('--fail-on <severity>', 'fail at or above this severity').choices(['critical', 'high', 'medium', 'low', 'info', 'none']))
    .addOption(new Option('--report-severity <severity>', 'show findings at or above this severity').choices(['critical', 'high', 'medium', 'low', 'info']))
    .addOption(new Option('--new-only <mode>', 'count only new findings').choices(['off', 'baseline']))
    .option('-c, --config <file>', 'policy file (default .secgate.yml in the scanned folder)')
    .option('--baseline <file>', `baseline file (default ${DEFAULT_BASELINE_FILE})`)
    .option('--exclude <globs>', 'comma list of paths/globs to leave out')
    .option('--tool-versions <list>', 'tool=version[@sha256] overrides, comma separated')
    .option('--allow-unverified-tools', 'allow overridden versions without a checksum')
    .option('--timeout-minutes <n>', 'per-tool time limit')
    .option('--mirror-url <url>', 'base URL replacing https://github.com/ for release downloads')
    .option('--pip-index-url <url>', 'Python package index for tool installs')
    .option('--python <path>', 'Python interpreter for tool venvs')
    .option('--semgrep-rules <paths>', 'extra Semgrep rule files/folders (sast)')
    .option('--secrets-scan <mode>', 'tree | history | both (sast)')
    .option('-v, --verbose', 'debug output');
}

export function buildProgram(): Command {
  const program = new Command('secgate').description('Security gate for AI/ML repositories').showHelpAfterError();
  addScanOptions(program.command('scan').argument('[path]', 'folder to scan', '.'))
    .option('--sarif <file>', 'write SARIF 2.1.0 here')
    .option('--json <file>', 'write the normalised JSON report here')
    .description('scan a folder and gate on the findings')
    .action(async (target: string, flags: ScanFlags) => {
      process.exitCode = await scan(target, flags);
    });
  addScanOptions(program.command('baseline').argument('[path]', 'folder to scan', '.'))
    .option('-o, --output <file>', 'where to write the baseline', DEFAULT_BASELINE_FILE)
    .description('record the current findings so that only new ones fail (new-only: baseline)')
    .action(async (target: string, flags: ScanFlags & { output: string }) => {
      process.exitCode = await scan(target, { ...flags, newOnly: 'off' }, flags.output);
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    const kind = error instanceof SecgateError ? error.kind : 'internal error';
    process.stderr.write(`secgate: ${kind}: ${errorMessage(error)}\n`);
    return error instanceof SecgateError ? (error.kind === 'configuration' ? EXIT.configuration : EXIT.tool) : EXIT.internal;
  }
}
