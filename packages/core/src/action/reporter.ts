import * as core from '@actions/core';
import * as github from '@actions/github';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { ScanResult } from '../engine.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { ANNOTATIONS_PER_JOB, planAnnotations, toAnnotation, type Annotation } from '../report/annotations.js';
import { buildJsonReport, countBySeverity } from '../report/json-report.js';
import { buildSarif } from '../report/sarif.js';
import { buildSummary } from '../report/summary.js';

export interface ReportFiles {
  sarifFile: string;
  reportFile: string;
}

/** All annotations of a job share GitHub's 50 cap; stage steps in one job count through this file. */
function budgetFile(): string | undefined {
  const temp = process.env['RUNNER_TEMP'];
  return temp ? path.join(temp, 'secgate-annotation-budget.json') : undefined;
}

async function readBudgetUsed(): Promise<number> {
  const file = budgetFile();
  if (!file) return 0;
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { job?: string; used?: number };
    return parsed.job === process.env['GITHUB_JOB'] && typeof parsed.used === 'number' ? parsed.used : 0;
  } catch {
    return 0;
  }
}

async function writeBudgetUsed(used: number): Promise<void> {
  const file = budgetFile();
  if (file) await writeFile(file, JSON.stringify({ job: process.env['GITHUB_JOB'], used }));
}

function post(annotation: Annotation): void {
  const props: core.AnnotationProperties = {
    title: annotation.title,
    file: annotation.file,
    startLine: annotation.startLine,
    endLine: annotation.endLine,
    startColumn: annotation.startColumn,
    endColumn: annotation.endColumn
  };
  // toAnnotation cleaned and capped every part (commandText); @actions/core then escapes %, CR,
  // LF in the message and also `:` and `,` in properties, so each annotation is one bounded line.
  if (annotation.level === 'error') core.error(annotation.message, props);
  else if (annotation.level === 'warning') core.warning(annotation.message, props);
  else core.notice(annotation.message, props);
}

function blobBaseUrl(): string | undefined {
  const server = process.env['GITHUB_SERVER_URL'];
  const repo = process.env['GITHUB_REPOSITORY'];
  const sha = process.env['GITHUB_SHA'];
  return server && repo && sha ? `${server}/${repo}/blob/${sha}/` : undefined;
}

/**
 * Writes everything a reviewer and a workflow read: annotations (ranked, within caps), the job
 * summary, SARIF, the JSON report and the step outputs.
 */
export async function publishResult(
  result: ScanResult,
  files: ReportFiles,
  logger: Logger,
  /** Warning annotations this step posted before (policy relaxations): they count against the same caps. */
  warningsPosted = 0
): Promise<{ annotated: number; omitted: number }> {
  const sarif = buildSarif(result);
  await mkdir(path.dirname(files.sarifFile), { recursive: true });
  await writeFile(files.sarifFile, sarif.text);
  await mkdir(path.dirname(files.reportFile), { recursive: true });
  await writeFile(files.reportFile, buildJsonReport(result, { sha: process.env['GITHUB_SHA'] ?? '', ref: process.env['GITHUB_REF'] ?? '' }));
  if (sarif.dropped > 0) logger.warning(`SARIF: ${sarif.dropped} lowest-ranked result(s) left out to stay within GitHub's limits`);
  if (sarif.unlocated > 0) logger.warning(`SARIF: ${sarif.unlocated} finding(s) without a file left out (GitHub requires a location); they are in the JSON report and the summary`);

  const used = (await readBudgetUsed()) + warningsPosted;
  // Keep one error slot for the step's own failure message.
  const willFail = result.verdict !== 'pass';
  const plan = planAnnotations(result.findings, Math.max(0, ANNOTATIONS_PER_JOB - used - (willFail ? 1 : 0)), { warning: warningsPosted });
  if (willFail) {
    const errors = plan.annotations.filter((a) => a.level === 'error');
    if (errors.length === 10) {
      plan.annotations.splice(plan.annotations.lastIndexOf(errors[9]!), 1);
      plan.omitted++;
    }
  }
  for (const annotation of plan.annotations) post(annotation);
  await writeBudgetUsed(used + plan.annotations.length + (willFail ? 1 : 0));

  const workspace = process.env['GITHUB_WORKSPACE'] ?? result.workspace;
  const rel = (file: string): string => path.relative(workspace, file) || file;
  const markdown = buildSummary(result, {
    blobBaseUrl: blobBaseUrl(),
    annotationsOmitted: plan.omitted,
    sarifFile: rel(files.sarifFile),
    reportFile: rel(files.reportFile)
  });
  if (process.env['GITHUB_STEP_SUMMARY']) await core.summary.addRaw(markdown, true).write();

  const counts = countBySeverity(result);
  for (const [severity, count] of Object.entries(counts)) core.setOutput(severity, count);
  core.setOutput('total', Object.values(counts).reduce((a, b) => a + b, 0));
  core.setOutput('blocking', result.blocking.length);
  core.setOutput('verdict', result.verdict);
  core.setOutput('sarif-file', files.sarifFile);
  core.setOutput('report-file', files.reportFile);
  core.setOutput('annotations-omitted', plan.omitted);
  return { annotated: plan.annotations.length, omitted: plan.omitted };
}

/**
 * Optional: every reported finding as a Checks API annotation, 50 per request (the API appends on
 * update), so nothing is lost to the workflow-command caps. Needs `checks: write`.
 */
export async function publishCheckRun(result: ScanResult, token: string, name: string, logger: Logger): Promise<boolean> {
  const annotations = result.findings
    .filter((f) => f.reported && f.state.kind === 'active' && f.location?.startLine)
    .map((f) => {
      const a = toAnnotation(f);
      return {
        // JSON, not a workflow command: the full path, even where the log annotation had to drop it.
        path: f.location!.path,
        start_line: f.location!.startLine!,
        end_line: Math.max(f.location!.endLine ?? 0, f.location!.startLine!),
        ...(a.startColumn && a.endLine === a.startLine ? { start_column: a.startColumn, end_column: a.endColumn ?? a.startColumn } : {}),
        annotation_level: a.level === 'error' ? ('failure' as const) : a.level === 'warning' ? ('warning' as const) : ('notice' as const),
        title: a.title.slice(0, 255),
        message: a.message
      };
    });
  try {
    const octokit = github.getOctokit(token);
    const { owner, repo } = github.context.repo;
    const head_sha = (github.context.payload.pull_request?.['head']?.['sha'] as string | undefined) ?? github.context.sha;
    const conclusion = result.verdict === 'pass' ? 'success' : 'failure';
    const summary = `${result.blocking.length} blocking finding(s); verdict ${result.verdict}`;
    const created = await octokit.rest.checks.create({
      owner,
      repo,
      name,
      head_sha,
      status: 'in_progress',
      output: { title: name, summary, annotations: annotations.slice(0, 50) }
    });
    for (let i = 50; i < annotations.length; i += 50) {
      await octokit.rest.checks.update({
        owner,
        repo,
        check_run_id: created.data.id,
        output: { title: name, summary, annotations: annotations.slice(i, i + 50) }
      });
    }
    await octokit.rest.checks.update({ owner, repo, check_run_id: created.data.id, status: 'completed', conclusion, output: { title: name, summary } });
    logger.info(`Checks API: published ${annotations.length} annotation(s) in ${Math.ceil(annotations.length / 50) || 1} request(s)`);
    return true;
  } catch (error) {
    logger.warning(`Checks API publication skipped: ${errorMessage(error)} (needs permissions: checks: write)`);
    return false;
  }
}
