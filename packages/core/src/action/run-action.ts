import * as core from '@actions/core';
import * as github from '@actions/github';
import { writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BoundedCommitRange, StageDefinition } from '../adapter.js';
import { prepareScan } from '../config.js';
import { runScan, selectAdapters, type ScanResult } from '../engine.js';
import { ConfigurationError, FindingsOverThresholdError, SecgateError, errorMessage } from '../errors.js';
import { ensureCommit } from '../git.js';
import { ToolInstaller } from '../install/installer.js';
import type { Logger } from '../logger.js';
import { changedLinesFromApiPatches, changedLinesFromGit, ChangedLines } from '../policy/changed-lines.js';
import { DEFAULT_POLICY_FILE } from '../policy/policy.js';
import { assessPolicyChange, type PolicyChangeReport } from '../policy/relaxation.js';
import { commandText, hasUnsafeCharacters } from '../report/escape.js';
import { buildSbom } from '../report/sbom.js';
import { WorkspaceBoundary, gitCommitSource, workingTreeSource, type RepoFileSource } from '../workspace.js';
import { booleanInput, optionalInput, policySourceInput, readSettings, type PolicySource } from './inputs.js';
import { actionsLogger, failStep } from './logger.js';
import { publishCheckRun, publishResult } from './reporter.js';
import { ToolCachePersistence } from './tool-cache-persistence.js';

const ZERO_SHA = /^0+$/;

/** The commits a change consists of, per event; undefined where there is no range (schedule, dispatch). */
export function eventCommitRange(): BoundedCommitRange | undefined {
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

async function resolveChangedLines(range: BoundedCommitRange | undefined, workspace: string, token: string | undefined, logger: Logger): Promise<ChangedLines> {
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

/** Events whose base commit is the reviewed target: there a change's policy is compared with the base's. */
const REVIEW_EVENTS = ['pull_request', 'pull_request_target', 'merge_group'];

/**
 * The base commit's files on review events (fetched into a shallow clone when missing). Without
 * it, `policy-source: base` cannot be honoured (a configuration error); with `head` the
 * comparison is reported as not done, never skipped silently.
 */
async function reviewBase(
  range: { base: string } | undefined,
  workspace: string,
  policySource: PolicySource,
  logger: Logger
): Promise<{ label: string; source?: RepoFileSource; error?: string } | undefined> {
  const event = github.context.eventName;
  if (!REVIEW_EVENTS.includes(event) || !range?.base) {
    if (policySource === 'base') {
      logger.info(`policy-source: base applies to pull_request, pull_request_target and merge_group events; on ${event || 'this run'} the working tree's policy applies`);
    }
    return undefined;
  }
  const label = `base commit ${range.base.slice(0, 7)}`;
  try {
    await ensureCommit(workspace, range.base, logger);
    return { label, source: gitCommitSource(workspace, range.base) };
  } catch (error) {
    const reason = `cannot read ${label}: ${errorMessage(error)}`;
    if (policySource === 'base') throw new ConfigurationError(reason, 'policy-source');
    return { label, error: reason };
  }
}

/** Most warnings GitHub shows per step is 10; keep room for the findings' own. */
const RELAXATION_ANNOTATIONS = 6;

/** A warning annotation on the policy file's line for each relaxation (the summary lists them all). */
function announcePolicyChange(change: PolicyChangeReport): number {
  const title = change.applied === 'base' ? 'secgate: this change would relax the gate (not applied: policy-source is base)' : 'secgate: this change relaxes the gate';
  const shown = change.relaxations.slice(0, RELAXATION_ANNOTATIONS);
  for (const relaxation of shown) {
    const file = hasUnsafeCharacters(relaxation.file) ? undefined : commandText(relaxation.file, 1000, true);
    core.warning(commandText(`${relaxation.message} (compared with ${change.baseLabel})`, 2000), { title, file, startLine: file ? relaxation.line : undefined });
  }
  if (change.relaxations.length > shown.length) {
    core.warning(`${change.relaxations.length - shown.length} more relaxation(s) of the gate: see the job summary`, { title });
  }
  if (change.error) core.warning(commandText(`the policy was not compared with the base commit: ${change.error}`, 2000), { title: 'secgate: policy change not checked' });
  return shown.length + (change.relaxations.length > shown.length ? 1 : 0) + (change.error ? 1 : 0);
}

/** Final message and exit status: each kind of ending has its own wording. */
export function conclude(result: ScanResult): void {
  if (result.errors.length > 0) {
    const kinds = [...new Set(result.errors.map((e) => e.kind))].join(', ');
    failStep(`secgate ${result.stages.join('+')}: ${kinds}: ${result.errors.map((e) => e.message).join(' ;; ')}`);
    return;
  }
  if (result.verdict === 'fail') {
    const error = new FindingsOverThresholdError(result.blocking.length, result.policy.failOn);
    failStep(`secgate ${result.stages.join('+')}: ${error.message}`);
    return;
  }
  core.info(`secgate ${result.stages.join('+')}: passed (${result.findings.length} finding(s), none blocking)`);
}

/**
 * The whole action: inputs → engine → reports → verdict. Any thrown value ends the step red
 * with its kind named; nothing can fall through to a green step.
 */
export async function runAction(stages: StageDefinition[], optionInputs: readonly string[] = [], secretInputs: readonly string[] = []): Promise<void> {
  const logger = actionsLogger;
  const label = stages.map((s) => s.id).join('+');
  try {
    // Masked before anything is logged. Secret inputs reach adapters through `options`; adapters
    // hand them to tools only in environment variables, never in argv or workspace files.
    for (const name of ['token', ...secretInputs]) {
      const secret = optionalInput(name);
      if (secret) core.setSecret(secret);
    }
    const token = optionalInput('token');
    const writeSbom = booleanInput('sbom', false);
    const workspace = path.resolve(process.env['GITHUB_WORKSPACE'] || process.cwd());
    const settings = readSettings(workspace, [...optionInputs, ...secretInputs.filter((name) => !optionInputs.includes(name))]);
    // auto: publish through the Checks API whenever a token is there; without `checks: write`
    // (fork PRs, default permissions) that is one warning, and the annotations stand alone.
    const checks = (optionalInput('checks') ?? 'auto').toLowerCase();
    if (!['auto', 'true', 'false'].includes(checks)) throw new ConfigurationError(`'${checks}' is not one of auto, true, false`, 'checks');
    const commitRange = eventCommitRange();
    const policySource = policySourceInput();
    const base = await reviewBase(commitRange, workspace, policySource, logger);
    const prepared = await prepareScan(stages, settings, { logger, now: new Date(), policySource: policySource === 'base' ? base?.source : undefined });
    const policyChange = base
      ? base.source
        ? await assessPolicyChange(stages, settings, { base: base.source, head: workingTreeSource(await WorkspaceBoundary.open(workspace)) }, policySource)
        : { baseLabel: base.label, policyFile: settings.config || DEFAULT_POLICY_FILE, applied: policySource, relaxations: [], error: base.error }
      : undefined;
    const relaxationWarnings = policyChange ? announcePolicyChange(policyChange) : 0;
    const installer = new ToolInstaller({ ...prepared.installer, logger });
    const changedLines =
      prepared.request.policy.newOnly === 'changed-lines' ? await resolveChangedLines(commitRange, workspace, token, logger) : undefined;

    const selected = selectAdapters(stages, prepared.request.tools).map((s) => s.adapter);
    const persistence = booleanInput('cache', true) && ToolCachePersistence.available() ? new ToolCachePersistence(logger) : undefined;
    await persistence?.restore(selected, installer);
    await persistence?.restoreData(selected, prepared.request.options, new Date());

    const result = await runScan({ ...prepared.request, changedLines, commitRange }, { installer, logger });
    result.policyChange = policyChange;
    await persistence?.save(new Set(result.tools.filter((t) => t.cacheHit === false).map((t) => t.tool)));
    await persistence?.saveData(new Set(result.tools.filter((t) => t.status === 'ok').map((t) => t.tool)));

    // Outside the workspace by default, so reports are never scanned (or committed) themselves.
    const outDir = path.resolve(workspace, optionalInput('output-dir') || path.join(process.env['RUNNER_TEMP'] || os.tmpdir(), 'secgate-results'));
    const files = {
      sarifFile: path.join(outDir, `${label}.sarif`),
      reportFile: path.join(outDir, `${label}.json`)
    };
    await publishResult(result, files, logger, relaxationWarnings);
    if (writeSbom) {
      const sbomFile = path.join(outDir, `${label}.cdx.json`);
      await writeFile(sbomFile, buildSbom(result));
      core.setOutput('sbom-file', sbomFile);
      logger.info(`CycloneDX 1.6 SBOM: ${sbomFile} (${result.inventory?.length ?? 0} component(s))`);
    }
    if (checks !== 'false' && token) await publishCheckRun(result, token, `secgate ${label}`, logger);
    conclude(result);
  } catch (error) {
    const kind = error instanceof SecgateError ? error.kind : 'internal error';
    failStep(`secgate ${label}: ${kind}: ${errorMessage(error)}`);
  }
}
