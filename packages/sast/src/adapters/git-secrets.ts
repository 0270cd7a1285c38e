import * as path from 'node:path';
import {
  ToolFailureError,
  ToolOutputError,
  ensureRangeHistory,
  firstByKey,
  git,
  isGitWorkTree,
  runTool,
  type ExitMeaning,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter,
  type ToolInvocation
} from '@secgate/core';
import { secretsScanMode } from './gitleaks.js';

/**
 * git-secrets (awslabs): prohibited patterns (AWS credentials by default) plus the repository's own
 * `secrets.patterns` and `.gitallowed`. https://github.com/awslabs/git-secrets
 *
 * It prints `path:line:matched line` on stderr; the matched line holds the secret, so only the
 * path and line are kept. Every match is `high`.
 */
export const GIT_SECRETS_SEVERITY: Readonly<Record<string, Severity>> = { '*': 'high' };

// git-secrets exits 0 and prints nothing when no pattern is registered or outside a repository;
// both are checked before its silence is trusted.
const MATCH_LINE = /^(?:([0-9a-f]{40}):)?(.+?):(\d+):/;

export function parseGitSecretsOutput(text: string, mode: string): ParsedReport {
  const findings: RawFinding[] = [];
  const warnings: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    if (line.startsWith('[ERROR] Matched one or more prohibited patterns')) break;
    // Timestamps and log lines (`18:43:48 …`) look like `path:line:` too.
    const match = /^\d{1,2}:\d{2}:\d{2}\b/.test(line) ? null : MATCH_LINE.exec(line);
    if (!match) {
      if (/^(fatal|error|warning):/i.test(line)) warnings.push(line.slice(0, 300));
      continue;
    }
    const [, commit, file, lineNumber] = match as unknown as [string, string | undefined, string, string];
    findings.push({
      tool: 'git-secrets',
      ruleId: 'prohibited-pattern',
      title: 'Prohibited secret pattern (git-secrets)',
      message:
        `A registered git-secrets pattern matched${commit ? ` in commit ${commit.slice(0, 12)}` : ''}. ` +
        'Rotate the credential and remove it; allow known test values in .gitallowed.',
      severity: 'high',
      confidence: 'medium',
      location: { path: file.replace(/^\.\//, ''), startLine: Number(lineNumber) },
      cwe: ['CWE-798'],
      helpUri: 'https://github.com/awslabs/git-secrets#readme',
      tags: ['secret', mode],
      identity: commit ? `${commit}:${file}` : undefined,
      sensitive: true
    });
  }
  return { findings, warnings };
}

export const gitSecretsAdapter: ToolAdapter = {
  id: 'git-secrets',
  displayName: 'git-secrets',
  description: 'AWS credential patterns and the repository’s own prohibited patterns.',
  install: {
    kind: 'binary',
    tool: 'git-secrets',
    defaultVersion: '1.3.0',
    // A shell script: the tag's source archive is the same on every platform with bash and git.
    asset: (version, platform) =>
      platform.startsWith('windows')
        ? undefined
        : {
            urlPath: `awslabs/git-secrets/archive/refs/tags/${version}.tar.gz`,
            assetName: `git-secrets-${version}.tar.gz`,
            archive: 'tar.gz',
            executable: `git-secrets-${version}/git-secrets`
          }
  },
  defaultTimeoutMs: 15 * 60_000,
  severityMap: GIT_SECRETS_SEVERITY,
  async skip(context) {
    return (await isGitWorkTree(context.workspace)) ? undefined : 'not a git repository (git-secrets scans through git)';
  },
  async command(tool, context) {
    const mode = secretsScanMode(context);
    // Register the AWS patterns in a private global config: the user's repo config is only read.
    // PATH: the AWS provider registered below runs as `git secrets --aws-provider`.
    const env = {
      GIT_CONFIG_GLOBAL: path.join(context.workDir, 'gitconfig'),
      GIT_CONFIG_NOSYSTEM: '1',
      PATH: `${path.dirname(tool.command)}${path.delimiter}${process.env['PATH'] ?? ''}`
    };
    const registered = await runTool({
      tool: 'git-secrets',
      command: tool.command,
      args: ['--register-aws', '--global'],
      cwd: context.workspace,
      env: { ...process.env, ...env },
      timeoutMs: 60_000
    });
    if (registered.exitCode !== 0) {
      throw new ToolFailureError('git-secrets', 'could not register the AWS patterns', registered.exitCode, registered.stderr);
    }
    const patterns = await runTool({
      tool: 'git',
      command: 'git',
      args: ['config', '--get-all', 'secrets.patterns'],
      cwd: context.workspace,
      env: { ...process.env, ...env },
      timeoutMs: 30_000
    });
    if (patterns.stdout.trim() === '') {
      throw new ToolFailureError('git-secrets', 'no prohibited patterns are registered, so a scan would find nothing by construction');
    }
    const invocations: ToolInvocation[] = [];
    if (mode !== 'history') {
      // -r: every file under the targets on disk, tracked or not (a new file is what a PR adds).
      // (-r cannot be combined with --no-index/--untracked; git-secrets exits 1 for that, as for matches.)
      invocations.push({ mode: 'tree', args: ['--scan', '-r', ...context.targets], env, reportFrom: 'stderr' });
    }
    if (mode !== 'tree' && context.commitRange) {
      // git-secrets has no range option: --scan-history greps every commit whose diff matches a
      // pattern; only matches in the commits of this change are kept (see parse).
      const { base, head } = context.commitRange;
      await ensureRangeHistory(context.workspace, base, head, context.logger);
      const commits = await git(context.workspace, ['rev-list', `${base}..${head}`]);
      const top = await git(context.workspace, ['rev-parse', '--show-toplevel']);
      if (commits.exitCode !== 0 || top.exitCode !== 0) {
        throw new ToolFailureError('git-secrets', `cannot list the commits of ${base}..${head}`, commits.exitCode, commits.stderr);
      }
      invocations.push({
        mode: 'history',
        args: ['--scan-history'],
        env,
        reportFrom: 'stderr',
        data: { commits: commits.stdout.split('\n').filter(Boolean), toplevel: top.stdout.trim() }
      });
    } else if (mode === 'history') {
      context.logger.info('git-secrets: no commit range for this event; history scan skipped');
    }
    return invocations;
  },
  exitMeaning(code, invocation): ExitMeaning {
    // In history mode matches outside the change's commits are dropped, so exit 1 may leave none.
    if (invocation.mode === 'history') return code === 0 || code === 1 ? 'clean' : 'error';
    return code === 0 ? 'clean' : code === 1 ? 'findings' : 'error';
  },
  parse(report, context, invocation) {
    let parsed = parseGitSecretsOutput(report, invocation.mode ?? 'tree');
    if (parsed.findings.length === 0 && /prohibited patterns/.test(report)) {
      throw new ToolOutputError('git-secrets', 'it reported matches but no match line could be read');
    }
    if (invocation.mode === 'history') {
      const data = invocation.data as { commits: string[]; toplevel: string };
      const inRange = new Set(data.commits);
      parsed = {
        warnings: parsed.warnings,
        findings: parsed.findings
          .filter((f) => inRange.has(String(f.identity).split(':')[0]!))
          // History paths are relative to the repository root; ours to the workspace.
          .map((f) => ({
            ...f,
            inChange: true,
            location: { ...f.location!, path: path.relative(context.workspace, path.join(data.toplevel, f.location!.path)) }
          }))
      };
    }
    return parsed;
  },
  combine: (reports) => firstByKey(reports, (f) => `${f.location?.path}:${f.location?.startLine}`)
};
