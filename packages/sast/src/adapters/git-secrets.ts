import * as path from 'node:path';
import {
  MAX_POSITION,
  ToolFailureError,
  ToolOutputError,
  firstByKey,
  git,
  historyCommits,
  pathProblem,
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

// git-secrets exits 0 and prints nothing when no pattern is registered; that is checked before
// its silence is trusted (see command()).
const MATCH_LINE = /^(?:([0-9a-f]{40}):)?(.+?):(\d+):/;
const TRAILER = '[ERROR] Matched one or more prohibited patterns';
/** What git, git-secrets' option parser and its `die` print when the scan itself went wrong. */
const TOOL_ERROR_LINE = /^(?:fatal|error|usage):|^\s+or: git secrets /i;

/**
 * Reads git-secrets' stderr: `[<commit>:]path:line:matched text` lines, then the "[ERROR] Matched"
 * trailer (exit 1). Rule for errors, decided here because git-secrets exits 0 on some of them:
 * a `fatal:`/`error:`/`usage:` line (not a git repository, an unknown option, …) is a failed run
 * (ToolFailureError) whatever the exit code; a `warning:` line is a warning; any other line, or
 * match lines without the trailer, mean the output is garbled or cut (ToolOutputError).
 */
export function parseGitSecretsOutput(text: string, mode: string): ParsedReport {
  const findings: RawFinding[] = [];
  const warnings: string[] = [];
  const trailerAt = text.indexOf(TRAILER);
  const body = trailerAt >= 0 ? text.slice(0, trailerAt) : text;
  for (const [index, line] of body.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    if (TOOL_ERROR_LINE.test(line)) throw new ToolFailureError('git-secrets', `the scan failed: ${line.trim().slice(0, 300)}`);
    if (/^warning:/i.test(line)) {
      warnings.push(line.trim().slice(0, 300));
      continue;
    }
    // Timestamps and log lines (`18:43:48 …`) look like `path:line:` too.
    if (/^\d{1,2}:\d{2}:\d{2}\b/.test(line)) continue;
    const match = MATCH_LINE.exec(line);
    if (!match) {
      // Without the trailer no matched text was printed, so the line is git-secrets' own message
      // (its `die`: usage errors exit 1 like matches do) and can be shown.
      if (trailerAt < 0) throw new ToolFailureError('git-secrets', `the scan failed (it printed: ${line.trim().slice(0, 300)})`);
      throw new ToolOutputError('git-secrets', `line ${index + 1} of its output is neither a match nor a message git-secrets prints`);
    }
    const [, commit, file, lineText] = match as unknown as [string, string | undefined, string, string];
    const lineNumber = Number(lineText);
    if (!Number.isSafeInteger(lineNumber) || lineNumber < 1 || lineNumber > MAX_POSITION || pathProblem(file) !== undefined) {
      throw new ToolOutputError('git-secrets', `line ${index + 1} of its output has an impossible path or line number`);
    }
    findings.push({
      tool: 'git-secrets',
      ruleId: 'prohibited-pattern',
      title: 'Prohibited secret pattern (git-secrets)',
      message:
        `A registered git-secrets pattern matched${commit ? ` in commit ${commit.slice(0, 12)}` : ''}. ` +
        'Rotate the credential and remove it; allow known test values in .gitallowed.',
      severity: 'high',
      confidence: 'medium',
      location: { path: file.replace(/^\.\//, ''), startLine: lineNumber },
      cwe: ['CWE-798'],
      helpUri: 'https://github.com/awslabs/git-secrets#readme',
      tags: ['secret', mode],
      identity: commit ? `${commit}:${file}` : undefined,
      sensitive: true
    });
  }
  if (trailerAt < 0 && findings.length > 0) {
    throw new ToolOutputError('git-secrets', `it printed ${findings.length} match line(s) but not its "Matched" trailer: the output is cut`);
  }
  if (trailerAt >= 0 && findings.length === 0) {
    throw new ToolOutputError('git-secrets', 'it reported matches but no match line could be read');
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
      // --no-index: git grep over every file under the targets on disk, tracked, untracked or
      // ignored (a new file is what a PR adds), but never inside `.git/` (which `-r`, a plain
      // recursive grep, reads: commit messages and reflogs are not the tree).
      invocations.push({ mode: 'tree', args: ['--scan', '--no-index', '--', ...context.targets], env, reportFrom: 'stderr' });
    }
    if (mode !== 'tree' && context.commitRange) {
      // git-secrets has no range option: --scan-history greps every commit whose diff matches a
      // pattern; only matches in the commits of the range are kept (see parse).
      const commits = await historyCommits(context.workspace, context.commitRange, context.logger);
      // What --scan-history may name (`git log --all`): a match outside both lists is garbled output.
      const all = await git(context.workspace, ['rev-list', '--all'], 600_000);
      if (all.exitCode !== 0) throw new ToolFailureError('git-secrets', 'cannot list the repository’s commits', all.exitCode, all.stderr);
      invocations.push({
        mode: 'history',
        args: ['--scan-history'],
        env,
        reportFrom: 'stderr',
        // --scan-history runs `git grep <commits>` in the workspace, which searches only below it and
        // prints paths relative to it (not to the repository root): the base for parse's paths is
        // the workspace itself, also when it is a subfolder of the repository.
        data: { commits, allCommits: all.stdout.split('\n').filter(Boolean), toplevel: context.workspace }
      });
    } else if (mode === 'history') {
      context.logger.info('git-secrets: no commit range to scan; history not scanned');
    }
    return invocations;
  },
  exitMeaning(code): ExitMeaning {
    // 0 nothing matched, 1 matches (the "Matched" trailer) — or a usage error / `die`, which exits 1
    // too: parse tells them apart (no trailer and no match line is not "findings"). History matches
    // outside the scanned commits are dropped by parse and counted, so "findings" still holds.
    return code === 0 ? 'clean' : code === 1 ? 'findings' : 'error';
  },
  parse(report, context, invocation) {
    const parsed = parseGitSecretsOutput(report, invocation.mode ?? 'tree');
    if (invocation.mode !== 'history') return parsed;
    // commits: the scanned range; allCommits (optional): every commit of the repository, so a
    // commit id that is in neither (a garbled line) is an error rather than a silently dropped match.
    const data = invocation.data as { commits: string[]; toplevel: string; allCommits?: string[] };
    const inRange = new Set(data.commits);
    const known = data.allCommits ? new Set(data.allCommits) : undefined;
    const commitOf = (f: RawFinding): string => String(f.identity).split(':')[0]!;
    const unknown = known ? parsed.findings.find((f) => !inRange.has(commitOf(f)) && !known.has(commitOf(f))) : undefined;
    if (unknown) throw new ToolOutputError('git-secrets', `a match names commit ${commitOf(unknown).slice(0, 12)}, which is not in this repository`);
    const kept = parsed.findings.filter((f) => inRange.has(commitOf(f)));
    return {
      warnings: parsed.warnings,
      dropped: parsed.findings.length - kept.length,
      findings: kept.map((f) => ({
        ...f,
        inChange: true,
        // History paths are relative to the repository root; ours to the workspace.
        location: { ...f.location!, path: path.relative(context.workspace, path.join(data.toplevel, f.location!.path)) }
      }))
    };
  },
  combine: (reports) => firstByKey(reports, (f) => `${f.location?.path}:${f.location?.startLine}`)
};
