import { lstat, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  ReportReader,
  ToolFailureError,
  ToolOutputError,
  WorkspaceBoundary,
  parseJsonReport,
  type ExitMeaning,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type SkipDecision,
  type ToolAdapter,
  type ToolContext,
  type ToolInvocation,
  type UncheckedItem
} from '@secgate/core';
import semver from 'semver';
import { findDockerfiles } from '../dockerfiles.js';
import { readIacPaths } from '../options.js';

/**
 * hadolint (https://github.com/hadolint/hadolint): Dockerfile best practices, with ShellCheck run
 * on every `RUN` (its `SC*` findings keep ShellCheck's codes).
 *
 * Severity — hadolint's level → secgate. hadolint's own failure threshold is `info`, i.e. almost
 * everything fails a build; secgate keeps the levels apart so `fail-on` decides:
 *
 * | hadolint level | secgate |
 * |---|---|
 * | error | high |
 * | warning | medium |
 * | info | low |
 * | style | info |
 *
 * Any other word (hadolint never prints `ignore`: ignored rules are left out) is a ToolOutputError.
 *
 * Configuration: the repository's `.hadolint.yaml` (or `.hadolint.yml`) at the workspace root, as
 * hadolint itself looks for it, when it is a regular file inside the workspace — its `ignored`,
 * `override` and `trusted-registries` apply, like `# hadolint ignore=` pragmas in the Dockerfiles.
 * Nothing else is read: `-c` is always given (an empty configuration without a repository one), so
 * hadolint's search of `~/.config`, `~/.hadolint` and `~` never runs, and the `HADOLINT_*`
 * variables of the runner's environment that can drop findings, change their levels or the output
 * format are blanked (hadolint merges them with the file and the command line; empty is neutral
 * for each, measured on 2.15.1). `HADOLINT_REQUIRE_LABELS` is left alone: it only adds findings,
 * and an empty value is not neutral (it requires a label named "").
 *
 * A Dockerfile hadolint cannot parse (DL1000) was not linted: it is listed as unchecked (the run is
 * then incomplete, never clean) with a warning, not a finding. Unlike bandit's parse errors it is
 * not turned into a tool failure when most files fail: DL1000 is a property of each file (a
 * template such as `Dockerfile.j2`), which the exception ledger can allow by path; a tool failure
 * could not be allowed.
 */
export const HADOLINT_SEVERITY: Readonly<Record<string, Severity>> = {
  ERROR: 'high',
  WARNING: 'medium',
  INFO: 'low',
  STYLE: 'info'
};

const TOOL = 'hadolint';
const VERSION = '2.15.1';
const reader = new ReportReader(TOOL);

/** hadolint's code for "the Dockerfile could not be parsed". */
const PARSE_ERROR_CODE = 'DL1000';
/** Rules that fire on a line that may hold a credential (`ENV API_TOKEN=…`): no snippet may be shown. */
const SECRET_BEARING_RULES = new Set(['DL3064']);
/** Files per hadolint run: keeps the command line far below the OS argument limit. */
const FILES_PER_RUN = 200;
/** What hadolint looks for in its working directory, in its order (Hadolint.Config.Configfile). */
const REPOSITORY_CONFIGS = ['.hadolint.yaml', '.hadolint.yml'];

/**
 * Blank values for the runner's `HADOLINT_*` variables (Hadolint.Config.Environment): they would
 * silently drop findings (`IGNORE`), relevel them (`OVERRIDE_*`), add a second output format to
 * stdout (`FORMAT`: `[][]`), change the exit code or stderr, or add checks the repository did not
 * ask for — the repository's configuration is the only one, so a laptop and CI agree.
 */
const NEUTRAL_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  [
    'HADOLINT_IGNORE',
    'HADOLINT_OVERRIDE_ERROR',
    'HADOLINT_OVERRIDE_WARNING',
    'HADOLINT_OVERRIDE_INFO',
    'HADOLINT_OVERRIDE_STYLE',
    'HADOLINT_FORMAT',
    'HADOLINT_NOFAIL',
    'HADOLINT_FAILURE_THRESHOLD',
    'HADOLINT_VERBOSE',
    'HADOLINT_ALLOWED_REGISTRIES',
    'HADOLINT_STRICT_LABELS',
    'HADOLINT_DISABLE_IGNORE_PRAGMA'
  ].map((name) => [name, ''])
);

/** The documentation page of a rule: hadolint's wiki for DL rules, ShellCheck's for SC ones. */
export function hadolintHelpUri(code: string): string | undefined {
  if (/^DL\d+$/.test(code)) return `https://github.com/hadolint/hadolint/wiki/${code}`;
  if (/^SC\d+$/.test(code)) return `https://www.shellcheck.net/wiki/${code}`;
  return undefined;
}

/**
 * A DL1000 message without the input it quotes: the parser's `unexpected …` line can repeat text
 * of the offending line (which may be a credential); the `expecting …` lines say enough.
 */
function parseErrorText(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => (/^unexpected\b/.test(line) ? 'unexpected input' : line));
  const text = lines.join('; ');
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

export interface HadolintParseOptions {
  /** The files given to hadolint (as given): a result naming another file is a garbled report. */
  files?: readonly string[];
}

/**
 * Reads hadolint's JSON report: an array of `{code, column, file, level, line, message}`. Every
 * field is read strictly; DL1000 results become unchecked files (see the adapter's notes).
 */
export function parseHadolintReport(text: string, options: HadolintParseOptions = {}): ParsedReport {
  const parsed = parseJsonReport(TOOL, text);
  if (!Array.isArray(parsed)) throw new ToolOutputError(TOOL, 'the report is not a JSON array: not hadolint JSON output');
  const given = options.files ? new Set(options.files) : undefined;
  const findings: RawFinding[] = [];
  const unparsed = new Map<string, UncheckedItem>();
  reader.each(parsed, 'results', (item, where) => {
    const result = reader.object(item, where);
    const code = reader.word(result['code'], `${where}.code`);
    const file = reader.path(result['file'], `${where}.file`);
    const line = reader.integer(result['line'], `${where}.line`, 1);
    // hadolint's columns are 1-based; 0 would mean "not known" and is not shown.
    const column = reader.integer(result['column'], `${where}.column`, 0);
    const severity = reader.oneOf(result['level'], `${where}.level`, HADOLINT_SEVERITY);
    const message = reader.string(result['message'], `${where}.message`);
    if (given && !given.has(file)) reader.fail(`${where}.file`, `names ${JSON.stringify(file.slice(0, 200))}, which was not given to hadolint`);
    if (code === PARSE_ERROR_CODE) {
      if (!unparsed.has(file)) {
        unparsed.set(file, {
          kind: 'file',
          name: file,
          reason: `hadolint could not parse it (DL1000 at line ${line}${column > 0 ? `, column ${column}` : ''}: ${parseErrorText(message)}); not linted`
        });
      }
      return;
    }
    const sensitive = SECRET_BEARING_RULES.has(code);
    findings.push({
      tool: TOOL,
      ruleId: code,
      title: `${code} ${firstLine(message)}`,
      message: message.trim(),
      severity,
      location: { path: file, startLine: line, startColumn: column > 0 ? column : undefined },
      helpUri: hadolintHelpUri(code),
      tags: ['misconfiguration', code.startsWith('SC') ? 'shellcheck' : 'dockerfile'],
      ...(sensitive ? { sensitive: true } : {})
    });
  });
  const unchecked = [...unparsed.values()];
  return {
    findings,
    warnings: unchecked.map((item) => `${item.name}: ${item.reason}`),
    ...(unchecked.length > 0 ? { unchecked } : {})
  };
}

/** The release asset for a version and platform; names are lowercase from 2.13.1 on. */
export function hadolintAsset(version: string, platform: string): { assetName: string; executable: string } | undefined {
  const lowercase = semver.valid(version) === null || semver.gte(version, '2.13.1');
  const names: Record<string, string> = lowercase
    ? {
        'linux-x64': 'hadolint-linux-x86_64',
        'linux-arm64': 'hadolint-linux-arm64',
        'darwin-x64': 'hadolint-macos-x86_64',
        'darwin-arm64': 'hadolint-macos-arm64',
        'windows-x64': 'hadolint-windows-x86_64.exe'
      }
    : {
        // Before 2.13.1 there was no macOS arm64 build.
        'linux-x64': 'hadolint-Linux-x86_64',
        'linux-arm64': 'hadolint-Linux-arm64',
        'darwin-x64': 'hadolint-Darwin-x86_64',
        'windows-x64': 'hadolint-Windows-x86_64.exe'
      };
  const assetName = names[platform];
  if (!assetName) return undefined;
  return { assetName, executable: platform.startsWith('windows') ? 'hadolint.exe' : 'hadolint' };
}

interface ConfigChoice {
  /** What `-c` is given: the repository's file or our empty one (absolute). */
  file: string;
  fact: string;
  warning?: string;
}

/**
 * The configuration hadolint reads: the first of `.hadolint.yaml`/`.hadolint.yml` at the workspace
 * root (hadolint's own order) when it is a regular file inside the workspace; otherwise an empty
 * configuration written to `workDir`, with a warning when a repository file was refused.
 */
async function chooseConfig(context: Pick<ToolContext, 'workspace' | 'workDir'>): Promise<ConfigChoice> {
  const boundary = await WorkspaceBoundary.open(context.workspace);
  let warning: string | undefined;
  for (const name of REPOSITORY_CONFIGS) {
    const candidate = path.join(boundary.workspace, name);
    if (!(await lstat(candidate).catch(() => undefined))) continue;
    const real = await boundary.realInside(candidate);
    if (real !== undefined && (await stat(real).then((info) => info.isFile(), () => false))) {
      return { file: candidate, fact: `configuration: ${name} (the repository's)` };
    }
    warning = `${name}: ${real === undefined ? 'resolves outside the workspace' : 'is not a regular file'}; not used (hadolint ran with its defaults)`;
    break;
  }
  const empty = path.join(context.workDir, 'hadolint-no-repository-config.yaml');
  // `{}`: hadolint refuses an empty YAML stream (and then silently runs with its defaults).
  await writeFile(empty, '{}\n');
  return { file: empty, fact: 'configuration: hadolint defaults (no .hadolint.yaml in the workspace)', ...(warning ? { warning } : {}) };
}

/** Walked once per run: `skip` and `command` get the same context. */
const inScope = new WeakMap<ToolContext, Promise<string[]>>();
function dockerfilesInScope(context: ToolContext): Promise<string[]> {
  let found = inScope.get(context);
  if (!found) {
    found = readIacPaths(context).then((targets) => findDockerfiles(context.workspace, targets, context.exclude));
    inScope.set(context, found);
  }
  return found;
}

export const hadolintAdapter: ToolAdapter = {
  id: TOOL,
  displayName: 'hadolint',
  description: 'Dockerfile best practices (pinned base images and packages, root user, ADD, secrets in ENV), with ShellCheck on RUN.',
  install: {
    kind: 'binary',
    tool: TOOL,
    defaultVersion: VERSION,
    asset(version, platform) {
      const asset = hadolintAsset(version, platform);
      if (!asset) return undefined;
      // A bare binary: the installer copies the asset to `executable`.
      return { urlPath: `hadolint/hadolint/releases/download/v${version}/${asset.assetName}`, assetName: asset.assetName, archive: 'none', executable: asset.executable };
    }
  },
  defaultTimeoutMs: 10 * 60_000,
  severityMap: HADOLINT_SEVERITY,
  async skip(context): Promise<SkipDecision | undefined> {
    const files = await dockerfilesInScope(context);
    return files.length === 0 ? { reason: 'no Dockerfile or Containerfile in scope', notApplicable: true } : undefined;
  },
  async command(_tool, context): Promise<ToolInvocation[]> {
    const files = await dockerfilesInScope(context);
    if (files.length === 0) throw new ToolFailureError(TOOL, 'no Dockerfile is in scope any more (the tree changed while the stage ran)');
    const config = await chooseConfig(context);
    const invocations: ToolInvocation[] = [];
    for (let start = 0; start < files.length; start += FILES_PER_RUN) {
      const batch = files.slice(start, start + FILES_PER_RUN);
      invocations.push({
        // `--` ends the options: a file named `-x.Dockerfile` is a file, not a flag.
        args: ['-f', 'json', '--no-fail', '-c', config.file, '--', ...batch],
        env: NEUTRAL_ENV,
        data: {
          files: batch,
          // Said once, by the first run.
          ...(start === 0 ? { facts: [config.fact, `${files.length} Dockerfile(s) linted`], warnings: config.warning ? [config.warning] : [] } : {})
        }
      });
    }
    return invocations;
  },
  exitMeaning(code): ExitMeaning {
    // With --no-fail, 0 whatever the findings; 1 is a file or configuration hadolint could not open.
    return code === 0 ? 'clean' : 'error';
  },
  stderrFailure(stderr) {
    // An unreadable configuration is reported on stderr and hadolint goes on with its defaults
    // (exit 0): the repository's ignores and overrides would be dropped without a word.
    if (/Error parsing your config file/.test(stderr)) {
      // hadolint prints the message as a quoted Haskell string (`\n` escapes); the YAML error is its last paragraph.
      const paragraphs = stderr.trim().replace(/^"|"$/g, '').replace(/\\n/g, '\n').replace(/\\t/g, ' ').split(/\n\s*\n/);
      const reason = (paragraphs.pop() ?? '').replace(/\s+/g, ' ').trim().slice(0, 200);
      return `the repository's hadolint configuration (.hadolint.yaml or .yml) is not valid${reason ? ` (${reason})` : ''}: its settings would be ignored; fix or remove it`;
    }
    return undefined;
  },
  parse(report, _context, invocation) {
    const data = invocation.data ?? {};
    const parsed = parseHadolintReport(report, { files: data['files'] as string[] | undefined });
    const facts = (data['facts'] as string[] | undefined) ?? [];
    const warnings = (data['warnings'] as string[] | undefined) ?? [];
    return { ...parsed, warnings: [...warnings, ...parsed.warnings], ...(facts.length > 0 ? { facts } : {}) };
  }
};
