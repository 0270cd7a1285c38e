import * as core from '@actions/core';
import * as github from '@actions/github';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CommitRange, StageDefinition } from '../adapter.js';
import { prepareScan } from '../config.js';
import { runScan, selectAdapters, type ScanResult } from '../engine.js';
import { ConfigurationError, FindingsOverThresholdError, SecgateError, errorMessage } from '../errors.js';
import { ToolInstaller } from '../install/installer.js';
import type { Logger } from '../logger.js';
import { changedLinesFromApiPatches, changedLinesFromGit, ChangedLines } from '../policy/changed-lines.js';
import { booleanInput, optionalInput, readSettings } from './inputs.js';
import { actionsLogger } from './logger.js';
import { publishCheckRun, publishResult } from './reporter.js';
import { ToolCachePersistence } from './tool-cache-persistence.js';

const ZERO_SHA = /^0+$/;

/** The commits a change consists of, per event; undefined where there is no range (schedule, dispatch). */
export function eventCommitRange(): CommitRange | undefined {
  const { eventName, payload, sha } = github.context;
  if ((eventName === 'pull_request' || eventName === 'pull_request_target') && payload.pull_request) {
    // On pull_request GITHUB_SHA is the merge commit: base..merge covers every commit of the PR.
    const base = payload.pull_request['base']?.['sha'] as string | undefined;
    const head = eventName === 'pull_request_target' ? (payload.pull_request['head']?.['sha'] as string) : sha;
    return base && head ? { base, head } : undefined;
  }
  if (eventName === 'merge_group' && payload['merge_group']) {
    const group = payload['merge_group'] as { base_sha?: string; head_sha?: string };
    return group.base_sha && group.head_sha ? { base: group.base_sha, head: group.head_sha } : undefined;
  }
  if (eventName === 'push' && typeof payload['before'] === 'string' && !ZERO_SHA.test(payload['before'])) {
    return { base: payload['before'], head: (payload['after'] as string) || sha };
  }
  return undefined;
}

async function resolveChangedLines(range: CommitRange | undefined, workspace: string, token: string | undefined, logger: Logger): Promise<ChangedLines> {
  if (!range) {
    throw new ConfigurationError(`changed-lines needs a pull_request, merge_group or push event (got ${github.context.eventName})`, 'new-only');
  }
  try {
    const lines = await changedLinesFromGit({ workspace, base: range.base, head: range.head, logger });
    logger.info(`Changed lines: ${lines.fileCount} file(s) changed between ${range.base.slice(0, 7)} and ${range.head.slice(0, 7)}`);
    return lines;
  } catch (error) {
    const pr = github.context.payload.pull_request;
    if (!pr || !token) throw new ConfigurationError(`cannot compute changed lines: ${errorMessage(error)}`, 'new-only');
    logger.warning(`git could not give the diff (${errorMessage(error)}); using the pull-request files API`);
    const octokit = github.getOctokit(token);
    const files = await octokit.paginate(octokit.rest.pulls.listFiles, { ...github.context.repo, pull_number: pr.number, per_page: 100 });
    return changedLinesFromApiPatches(files);
  }
}

/** Final message and exit status: each kind of ending has its own wording. */
export function conclude(result: ScanResult): void {
  if (result.errors.length > 0) {
    const kinds = [...new Set(result.errors.map((e) => e.kind))].join(', ');
    core.setFailed(`secgate ${result.stages.join('+')}: ${kinds}: ${result.errors.map((e) => e.message).join(' ;; ')}`);
    return;
  }
  if (result.verdict === 'fail') {
    const error = new FindingsOverThresholdError(result.blocking.length, result.policy.failOn);
    core.setFailed(`secgate ${result.stages.join('+')}: ${error.message}`);
    return;
  }
  core.info(`secgate ${result.stages.join('+')}: passed (${result.findings.length} finding(s), none blocking)`);
}

/**
 * The whole action: inputs → engine → reports → verdict. Any thrown value ends the step red
 * with its kind named; nothing can fall through to a green step.
 */
export async function runAction(stages: StageDefinition[], optionInputs: readonly string[] = []): Promise<void> {
  const logger = actionsLogger;
  const label = stages.map((s) => s.id).join('+');
  try {
    const token = optionalInput('token');
    if (token) core.setSecret(token);
    const workspace = path.resolve(process.env['GITHUB_WORKSPACE'] || process.cwd());
    const settings = readSettings(workspace, optionInputs);
    // auto: publish through the Checks API whenever a token is there; without `checks: write`
    // (fork PRs, default permissions) that is one warning, and the annotations stand alone.
    const checks = (optionalInput('checks') ?? 'auto').toLowerCase();
    if (!['auto', 'true', 'false'].includes(checks)) throw new ConfigurationError(`'${checks}' is not one of auto, true, false`, 'checks');
    const prepared = await prepareScan(stages, settings, { logger, now: new Date() });
    const installer = new ToolInstaller({ ...prepared.installer, logger });
    const commitRange = eventCommitRange();
    const changedLines =
      prepared.request.policy.newOnly === 'changed-lines' ? await resolveChangedLines(commitRange, workspace, token, logger) : undefined;

    const selected = selectAdapters(stages, prepared.request.tools).map((s) => s.adapter);
    const persistence = booleanInput('cache', true) && ToolCachePersistence.available() ? new ToolCachePersistence(logger) : undefined;
    await persistence?.restore(selected, installer);

    const result = await runScan({ ...prepared.request, changedLines, commitRange }, { installer, logger });
    await persistence?.save(new Set(result.tools.filter((t) => t.cacheHit === false).map((t) => t.tool)));

    // Outside the workspace by default, so reports are never scanned (or committed) themselves.
    const outDir = path.resolve(workspace, optionalInput('output-dir') || path.join(process.env['RUNNER_TEMP'] || os.tmpdir(), 'secgate-results'));
    const files = {
      sarifFile: path.join(outDir, `${label}.sarif`),
      reportFile: path.join(outDir, `${label}.json`)
    };
    await publishResult(result, files, logger);
    if (checks !== 'false' && token) await publishCheckRun(result, token, `secgate ${label}`, logger);
    conclude(result);
  } catch (error) {
    const kind = error instanceof SecgateError ? error.kind : 'internal error';
    core.setFailed(`secgate ${label}: ${kind}: ${errorMessage(error)}`);
  }
}
