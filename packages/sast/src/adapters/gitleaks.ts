import { access } from 'node:fs/promises';
import * as path from 'node:path';
import {
  ConfigurationError,
  ToolOutputError,
  parseJsonReport,
  ensureRangeHistory,
  firstByKey,
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

interface GitleaksLeak {
  RuleID: string;
  Description?: string;
  StartLine: number;
  EndLine?: number;
  StartColumn?: number;
  EndColumn?: number;
  File: string;
  Commit?: string;
  Author?: string;
  Date?: string;
  Fingerprint?: string;
  Tags?: string[];
  Secret?: string;
  Match?: string;
}

export type SecretsScanMode = 'tree' | 'history' | 'both';

export function secretsScanMode(context: ToolContext): SecretsScanMode {
  const value = (context.options['secrets-scan'] ?? 'both').trim().toLowerCase();
  if (value === 'tree' || value === 'history' || value === 'both') return value;
  throw new ConfigurationError(`'${value}' is not one of tree, history, both`, 'secrets-scan');
}

export function parseGitleaksReport(text: string, mode: string): ParsedReport {
  const leaks = parseJsonReport<GitleaksLeak[]>('gitleaks', text);
  if (!Array.isArray(leaks)) throw new ToolOutputError('gitleaks', 'the report is not a JSON array of leaks');
  const findings = leaks.map((leak): RawFinding => {
    if (typeof leak.RuleID !== 'string' || typeof leak.File !== 'string') {
      throw new ToolOutputError('gitleaks', 'a leak lacks RuleID or File');
    }
    const commit = leak.Commit ? leak.Commit.slice(0, 12) : undefined;
    return {
      tool: 'gitleaks',
      ruleId: leak.RuleID,
      title: `Hardcoded secret: ${leak.RuleID}`,
      message:
        `${leak.Description ?? leak.RuleID}${commit ? ` (in commit ${commit})` : ''}. ` +
        'Revoke/rotate the credential, remove it from the code and history, and load it from a secret store.',
      severity: 'high',
      confidence: 'high',
      location: {
        path: leak.File,
        startLine: leak.StartLine,
        endLine: leak.EndLine ?? leak.StartLine,
        // gitleaks 8.30 reports StartColumn one too high on every line but a file's first
        // (gitleaks#1424); EndColumn is right.
        startColumn: leak.StartColumn && leak.StartLine > 1 ? leak.StartColumn - 1 : leak.StartColumn,
        endColumn: leak.EndLine === leak.StartLine ? leak.EndColumn : undefined
      },
      cwe: ['CWE-798'],
      helpUri: 'https://github.com/gitleaks/gitleaks#readme',
      tags: ['secret', mode, ...(leak.Tags ?? [])],
      // A leak in history is identified by its commit, not by text that may be gone from the tree.
      identity: commit ? `${leak.Commit}:${leak.File}:${leak.RuleID}` : undefined,
      sensitive: true,
      // The history scan is limited to the change's commits (--log-opts base..head).
      inChange: mode === 'history' || undefined
    };
  });
  return { findings, warnings: [] };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false
  );
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
    // The repo's own rules and allowlists: .gitleaks.toml (also found by gitleaks itself in the
    // scanned folder) and .gitleaksignore (read from the working directory, the workspace).
    const config = path.join(context.workspace, '.gitleaks.toml');
    if (await exists(config)) common.push('--config', config);
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
        context.logger.info('gitleaks: no commit range for this event; history scan skipped (the working tree is scanned)');
      } else if (!(await isGitWorkTree(context.workspace))) {
        throw new ConfigurationError('secrets-scan includes history, but the workspace is not a git repository', 'secrets-scan');
      } else {
        await ensureRangeHistory(context.workspace, range.base, range.head, context.logger);
        const report = path.join(context.workDir, 'history.json');
        invocations.push({
          mode: 'history',
          args: ['git', '.', ...common, '--report-path', report, `--log-opts=${range.base}..${range.head}`],
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
  parse: (report, _context, invocation) => parseGitleaksReport(report, invocation.mode ?? 'tree'),
  // The same secret found in the tree and in a commit of the change: keep the tree finding.
  combine: (reports) => firstByKey(reports, (f) => `${f.location?.path}:${f.location?.startLine}:${f.ruleId}`)
};
