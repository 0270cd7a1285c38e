import { existsSync } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigurationError,
  ReportReader,
  ToolOutputError,
  parseJsonReport,
  describeCommitRange,
  firstByKey,
  historyCommits,
  rangeRevisions,
  isGitWorkTree,
  type ExitMeaning,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter,
  type ToolContext,
  type ToolInvocation
} from '@secgate/core';

/**
 * gitleaks: hardcoded secrets in the working tree (`dir`) and in the commits of a change (`git`).
 * https://github.com/gitleaks/gitleaks — MIT, free, no licence key.
 *
 * gitleaks has no severity: every leaked credential is `high` (it blocks with the default
 * fail-on). Secrets are always redacted (`--redact`) and never copied from the report.
 */
export const GITLEAKS_SEVERITY: Readonly<Record<string, Severity>> = { '*': 'high' };

// Findings use our own exit code so they cannot be confused with gitleaks' errors (always 1).
const LEAKS_EXIT_CODE = 3;

export type SecretsScanMode = 'tree' | 'history' | 'both';

export function secretsScanMode(context: ToolContext): SecretsScanMode {
  const value = (context.options['secrets-scan'] ?? 'both').trim().toLowerCase();
  if (value === 'tree' || value === 'history' || value === 'both') return value;
  throw new ConfigurationError(`'${value}' is not one of tree, history, both`, 'secrets-scan');
}

const reader = new ReportReader('gitleaks');

/** A commit id as gitleaks writes it: empty in `dir` mode, full hex (SHA-1 or SHA-256) in `git` mode. */
const COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

function readLeak(item: unknown, where: string, mode: string): RawFinding {
  const leak = reader.object(item, where);
  const ruleId = reader.word(leak['RuleID'], `${where}.RuleID`);
  const file = reader.path(leak['File'], `${where}.File`);
  const startLine = reader.integer(leak['StartLine'], `${where}.StartLine`, 1);
  const endLine = leak['EndLine'] === undefined ? startLine : reader.integer(leak['EndLine'], `${where}.EndLine`, startLine);
  // Columns are 1-based; 0 means gitleaks did not know.
  const startColumn = reader.optionalInteger(leak['StartColumn'], `${where}.StartColumn`, 0) || undefined;
  const endColumn = reader.optionalInteger(leak['EndColumn'], `${where}.EndColumn`, 0) || undefined;
  const description = reader.optionalString(leak['Description'], `${where}.Description`)?.trim() || ruleId;
  const fullCommit = reader.optionalString(leak['Commit'], `${where}.Commit`) ?? '';
  if (fullCommit !== '' && !COMMIT_ID.test(fullCommit)) reader.fail(`${where}.Commit`, 'is not a commit id');
  if (mode === 'history' && fullCommit === '') reader.fail(`${where}.Commit`, 'is missing in a history scan');
  const tags = leak['Tags'] === undefined ? [] : reader.each(leak['Tags'], `${where}.Tags`, (t, at) => reader.string(t, at));
  const commit = fullCommit ? fullCommit.slice(0, 12) : undefined;
  return {
    tool: 'gitleaks',
    ruleId,
    title: `Hardcoded secret: ${ruleId}`,
    message:
      // Descriptions end with a full stop or not; one either way.
      `${description.replace(/\.+$/, '')}${commit ? ` (in commit ${commit})` : ''}. ` +
      'Revoke/rotate the credential, remove it from the code and history, and load it from a secret store.',
    severity: 'high',
    confidence: 'high',
    location: {
      path: file,
      startLine,
      endLine,
      // gitleaks 8.30 reports StartColumn one too high on every line but a file's first
      // (gitleaks#1424); EndColumn is right.
      startColumn: startColumn && startLine > 1 ? Math.max(1, startColumn - 1) : startColumn,
      endColumn: endLine === startLine ? endColumn : undefined
    },
    cwe: ['CWE-798'],
    helpUri: 'https://github.com/gitleaks/gitleaks#readme',
    tags: ['secret', mode, ...tags],
    // A leak in history is identified by its commit, not by text that may be gone from the tree.
    identity: fullCommit ? `${fullCommit}:${file}:${ruleId}` : undefined,
    sensitive: true,
    // The history scan is limited to the change's commits (--log-opts base..head).
    inChange: mode === 'history' || undefined
  };
}

/**
 * Reads gitleaks' JSON report: an array of leaks ([] when clean). gitleaks reports no errors inside
 * it (they go to stderr with exit 1, an error for us), so every entry is a finding. Secret and
 * Match are never read.
 */
export function parseGitleaksReport(text: string, mode: string): ParsedReport {
  const leaks = parseJsonReport('gitleaks', text);
  if (!Array.isArray(leaks)) throw new ToolOutputError('gitleaks', 'the report is not a JSON array of leaks');
  return { findings: reader.each(leaks, 'leaks', (item, where) => readLeak(item, where, mode)), warnings: [] };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false
  );
}

/** secgate's gitleaks rules, shipped in this repository (beside dist/ in the action, beside packages/ in dev). */
export function gitleaksRulesFile(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'rules', 'gitleaks', 'secgate.toml');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new ConfigurationError('the secgate gitleaks rules (rules/gitleaks/secgate.toml) are missing from this installation', 'tools');
}

export const gitleaksAdapter: ToolAdapter = {
  id: 'gitleaks',
  displayName: 'gitleaks',
  description: 'Hardcoded secrets in the working tree and in every commit of a pull request or push.',
  install: {
    kind: 'binary',
    tool: 'gitleaks',
    defaultVersion: '8.30.0',
    asset(version, platform) {
      const names: Record<string, string> = {
        'linux-x64': 'linux_x64',
        'linux-arm64': 'linux_arm64',
        'darwin-x64': 'darwin_x64',
        'darwin-arm64': 'darwin_arm64'
      };
      const suffix = names[platform];
      if (!suffix) return undefined;
      const assetName = `gitleaks_${version}_${suffix}.tar.gz`;
      return {
        urlPath: `gitleaks/gitleaks/releases/download/v${version}/${assetName}`,
        assetName,
        archive: 'tar.gz',
        executable: 'gitleaks'
      };
    }
  },
  defaultTimeoutMs: 15 * 60_000,
  severityMap: GITLEAKS_SEVERITY,
  async command(_tool, context) {
    const mode = secretsScanMode(context);
    const common = ['--report-format', 'json', '--redact', '--exit-code', String(LEAKS_EXIT_CODE), '--no-banner', '--no-color', '--log-level', 'warn'];
    // Our rules (rules/gitleaks: passwords in URLs) on top of the repo's own .gitleaks.toml, or of
    // gitleaks' defaults when it has none. With --config gitleaks no longer reads the repo's file
    // itself, so the file is extended explicitly: its rules and allowlists still apply. The same
    // config serves the tree and the history scans; .gitleaksignore is read from the working
    // directory (the workspace) as before.
    const repoConfig = path.join(context.workspace, '.gitleaks.toml');
    const base = (await exists(repoConfig)) ? `path = ${JSON.stringify(repoConfig)}` : 'useDefault = true';
    const config = path.join(context.workDir, 'gitleaks.toml');
    await writeFile(config, `${await readFile(gitleaksRulesFile(), 'utf8')}\n[extend]\n${base}\n`);
    common.push('--config', config);
    const invocations: ToolInvocation[] = [];
    if (mode !== 'history') {
      for (const [index, target] of context.targets.entries()) {
        const report = path.join(context.workDir, `tree-${index}.json`);
        invocations.push({ mode: 'tree', args: ['dir', target, ...common, '--report-path', report], reportFile: report });
      }
    }
    if (mode !== 'tree') {
      const range = context.commitRange;
      if (!range) {
        context.logger.info(`gitleaks: no commit range to scan; history not scanned${mode === 'both' ? ' (the working tree is)' : ''}`);
      } else if (!(await isGitWorkTree(context.workspace))) {
        throw new ConfigurationError('secrets-scan includes history, but the workspace is not a git repository', 'secrets-scan');
      } else {
        const commits = await historyCommits(context.workspace, range, context.logger);
        context.logger.info(`gitleaks: history: ${commits.length} commit(s), ${describeCommitRange(range)}`);
        const report = path.join(context.workDir, 'history.json');
        invocations.push({
          mode: 'history',
          // gitleaks splits --log-opts on spaces: the revisions are SHAs and an ISO date, never spaced.
          // --relative: a workspace below the repository root sees its own files only, with paths
          // relative to it (a no-op at the root).
          args: ['git', '.', ...common, '--report-path', report, `--log-opts=--relative ${rangeRevisions(range).join(' ')}`],
          reportFile: report
        });
      }
    }
    // history-only on an event without a range: no invocation, which the engine reports as skipped.
    return invocations;
  },
  exitMeaning(code): ExitMeaning {
    return code === 0 ? 'clean' : code === LEAKS_EXIT_CODE ? 'findings' : 'error';
  },
  // gitleaks 8.30 exits 0 with `[]` when `git log -p` fails (a missing or unreadable object in a
  // partial or damaged clone): it only logs `ERR [git] fatal: …`. An ERR/FTL line is a failed run.
  stderrFailure(stderr) {
    const line = stderr.split(/\r?\n/).find((l) => /^\S*\s*(ERR|FTL)\b/.test(l));
    return line ? `reported an error although it exited 0, so part of the scan did not run: ${line.replace(/^\S*\s*/, '').slice(0, 300)}` : undefined;
  },
  parse: (report, _context, invocation) => parseGitleaksReport(report, invocation.mode ?? 'tree'),
  // The same secret found in the tree and in a commit of the change: keep the tree finding. The
  // column tells two secrets of one rule on one line apart.
  combine: (reports) =>
    firstByKey(reports, (f) => `${f.location?.path}:${f.location?.startLine}:${f.location?.startColumn ?? ''}:${f.ruleId}`)
};
