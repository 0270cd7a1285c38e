import type { ScanResult } from '../engine.js';
import type { EvaluatedFinding } from '../finding.js';
import { SEVERITIES } from '../severity.js';
import { capText, escapeCode, escapeMarkdown } from './escape.js';
import { truncate } from '../fingerprint.js';

/** The runner rejects step summaries over 1 MiB; stay well under it. */
export const SUMMARY_LIMIT_BYTES = 1_000_000;
const TOP_FINDINGS = 100;
/** Cap for every other list (warnings, ledger entries), so the summary stays small whatever the input. */
const MAX_LIST = 20;

export interface SummaryContext {
  /** `https://github.com/owner/repo/blob/<sha>/` for links to file lines; omitted locally. */
  blobBaseUrl?: string;
  annotationsOmitted?: number;
  sarifFile?: string;
  reportFile?: string;
}

const VERDICT_TEXT = { pass: '✅ passed', fail: '❌ failed: findings over threshold', error: '⛔ error: a tool failed' };

/** Longest path shown (and linked) in a table cell: a 1 MB path must not crowd out every other row. */
const MAX_PATH_IN_CELL = 500;

function locationCell(finding: EvaluatedFinding, context: SummaryContext): string {
  const loc = finding.location;
  if (!loc) return '';
  const label = `${capText(loc.path, MAX_PATH_IN_CELL)}${loc.startLine ? `:${loc.startLine}` : ''}`;
  if (!context.blobBaseUrl || loc.path.length > MAX_PATH_IN_CELL) return escapeCode(label);
  const href = `${context.blobBaseUrl}${loc.path.split('/').map(encodeURIComponent).join('/')}${loc.startLine ? `#L${loc.startLine}` : ''}`;
  return `[${escapeMarkdown(label)}](${href.replace(/\)/g, '%29')})`;
}

function stateLabel(finding: EvaluatedFinding): string {
  switch (finding.state.kind) {
    case 'active':
      return finding.isNew ? 'new' : 'existing';
    case 'suppressed':
      return 'suppressed';
    case 'baseline':
      return 'baseline';
    case 'outside-changed-lines':
      return 'outside diff';
    case 'unfixed':
      return 'unfixed (ignore-unfixed)';
  }
}

/** Builds the job summary as Markdown, under SUMMARY_LIMIT_BYTES whatever the number of findings. */
export function buildSummary(result: ScanResult, context: SummaryContext = {}): string {
  const head: string[] = [];
  const stages = result.stages.join(', ');
  head.push(`## secgate ${escapeMarkdown(stages)}: ${VERDICT_TEXT[result.verdict]}`, '');
  const p = result.policy;
  head.push(
    `Gate: fail on **${p.failOn}** and above · reporting **${p.reportSeverity}** and above · new-only: **${p.newOnly}** · ` +
      `${result.blocking.length} blocking finding(s) · ${(result.durationMs / 1000).toFixed(1)} s`,
    ''
  );
  if (result.errors.length > 0) {
    head.push('### Tool errors', '');
    for (const error of result.errors.slice(0, MAX_LIST)) head.push(`- **${error.name}**: ${escapeMarkdown(truncate(error.message, 2000))}`);
    head.push('');
  }
  head.push(...policyChangeSection(result));

  const counts = new Map<string, number>();
  for (const f of result.findings) counts.set(`${f.severity}/${f.state.kind}`, (counts.get(`${f.severity}/${f.state.kind}`) ?? 0) + 1);
  const count = (sev: string, state: string): number => counts.get(`${sev}/${state}`) ?? 0;
  head.push('| Severity | Active | Suppressed | Baseline | Outside diff |', '|---|---:|---:|---:|---:|');
  for (const sev of SEVERITIES) {
    head.push(
      `| ${sev} | ${count(sev, 'active')} | ${count(sev, 'suppressed')} | ${count(sev, 'baseline')} | ${count(sev, 'outside-changed-lines')} |`
    );
  }
  head.push('', '| Tool | Stage | Version | Status | Findings | Install | Run |', '|---|---|---|---|---:|---:|---:|');
  for (const run of result.tools) {
    // A skipped tool is an error too (ToolSkippedError); warnings are counted on the row.
    const warningCount = run.warnings.length > 0 ? ` · ⚠️ ${run.warnings.length} warning(s)` : '';
    const status =
      run.status === 'failed'
        ? '⛔ failed'
        : run.status === 'skipped'
          ? `⛔ skipped: ${escapeMarkdown(run.skipReason ?? '')}`
          : run.status === 'not-applicable'
            ? `➖ not applicable: ${escapeMarkdown(run.skipReason ?? '')}`
            : `${run.warnings.length > 0 ? '⚠️' : '✅'} ok${warningCount}`;
    const install = run.status === 'skipped' || run.status === 'not-applicable' ? '' : `${(run.installMs / 1000).toFixed(2)} s${run.cacheHit ? ' (cached)' : ''}${run.verified === false ? ' ⚠️ unverified' : ''}`;
    head.push(
      `| ${escapeMarkdown(run.displayName)} | ${run.stage} | ${escapeMarkdown(run.version ?? '')} | ${status} | ${run.findingCount} | ${install} | ${(run.runMs / 1000).toFixed(2)} s |`
    );
  }
  head.push('');
  head.push(...metricsSection(result));
  const facts = result.tools.flatMap((run) => (run.facts ?? []).map((fact) => `- ${escapeMarkdown(run.displayName)}: ${escapeMarkdown(truncate(fact, 300))}`));
  if (facts.length > 0) head.push(...facts.slice(0, MAX_LIST), '');
  head.push(...supplyChainSections(result, context));
  const warned = result.tools.filter((run) => run.warnings.length > 0);
  if (warned.length > 0) {
    const total = warned.reduce((sum, run) => sum + run.warnings.length, 0);
    head.push(`<details><summary>Tool warnings: ${total} (files a tool could not fully scan, …)</summary>`, '');
    for (const run of warned) {
      for (const warning of run.warnings.slice(0, MAX_LIST)) head.push(`- ${escapeMarkdown(run.displayName)}: ${escapeMarkdown(truncate(warning, 300))}`);
      if (run.warnings.length > MAX_LIST) head.push(`- ${escapeMarkdown(run.displayName)}: … ${run.warnings.length - MAX_LIST} more`);
    }
    head.push('', '</details>', '');
  }

  const ledger: string[] = [];
  if (result.ledger.expired.length > 0) {
    ledger.push('### ⚠️ Expired exceptions (no longer suppressing)', '');
    for (const s of result.ledger.expired.slice(0, MAX_LIST)) {
      ledger.push(`- entry ${s.index} (${ruleLabel(s.entry)}), owner ${escapeMarkdown(s.entry.owner)}, expired ${s.entry.expires}: ${escapeMarkdown(truncate(s.entry.reason, 300))} — matches ${s.matched} finding(s)`);
    }
    ledger.push('');
  }
  if (result.ledger.expiringSoon.length > 0) {
    ledger.push('### Exceptions expiring within 14 days', '');
    for (const s of result.ledger.expiringSoon.slice(0, MAX_LIST)) {
      ledger.push(`- entry ${s.index} (${ruleLabel(s.entry)}), owner ${escapeMarkdown(s.entry.owner)}, expires ${s.entry.expires} (${s.daysLeft} day(s) left)`);
    }
    ledger.push('');
  }

  const tail: string[] = [];
  if (context.annotationsOmitted) {
    tail.push(`> ${context.annotationsOmitted} finding(s) were not annotated inline (GitHub shows 10 per level per step, 50 per job); all are listed above and in the SARIF file.`, '');
  }
  const files = [context.sarifFile ? `SARIF: ${escapeCode(context.sarifFile)}` : '', context.reportFile ? `JSON report: ${escapeCode(context.reportFile)}` : ''].filter(Boolean);
  if (files.length) tail.push(files.join(' · '), '');

  const shown = result.findings.filter((f) => f.reported);
  // Only the rows that can be listed are built (the findings are already ranked).
  const rows = shown.slice(0, TOP_FINDINGS).map(
    (f) =>
      `| ${f.severity} | ${stateLabel(f)} | ${escapeMarkdown(f.sources.map((s) => `${s.tool}:${s.ruleId}`).join(', '))} | ${locationCell(f, context)} | ${escapeMarkdown(truncate(f.title, 200))} |`
  );
  const fixed = [...head, ...ledger].join('\n');
  const tailText = tail.join('\n');
  let budget = SUMMARY_LIMIT_BYTES - Buffer.byteLength(fixed) - Buffer.byteLength(tailText) - 2_000;
  const findingsTable: string[] = [];
  if (rows.length > 0) {
    findingsTable.push(`### Findings (${shown.length} at ${p.reportSeverity} or above)`, '', '| Severity | State | Rule | Location | Title |', '|---|---|---|---|---|');
    let included = 0;
    for (const row of rows) {
      const size = Buffer.byteLength(row) + 1;
      if (size > budget) break;
      budget -= size;
      findingsTable.push(row);
      included++;
    }
    if (included < shown.length) findingsTable.push('', `… and ${shown.length - included} more finding(s) not listed here (see the SARIF and JSON reports).`);
    findingsTable.push('');
  }
  return [fixed, findingsTable.join('\n'), tailText].filter(Boolean).join('\n');
}

/** Rows per supply-chain table (dependencies, model files, unchecked items). */
const MAX_SUPPLY_ROWS = 50;

function osvLink(id: string): string {
  return `[${escapeMarkdown(id)}](https://osv.dev/vulnerability/${encodeURIComponent(id)})`;
}

/**
 * The sca sections: vulnerable dependencies (installed → fixed, severity and where it came from,
 * advisories, manifest line), model files with their verdicts, and what was not checked.
 */
function formatMetric(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
}

/** Every gate metric against its bar, with the sample size and interval; a straddling interval is flagged. */
function metricsSection(result: ScanResult): string[] {
  const rows = result.tools.flatMap((run) => (run.metrics ?? []).map((metric) => ({ run, metric })));
  if (rows.length === 0) return [];
  const icon = { pass: '✅ pass', fail: '❌ fail', inconclusive: '⚠️ interval straddles the threshold' } as const;
  const lines = ['### Gate metrics', '', '| Tool | Measure | Value | Threshold | 95 % interval | n | Result | Setting |', '|---|---|---:|---:|---|---:|---|---|'];
  for (const { run, metric } of rows.slice(0, MAX_LIST)) {
    const bar = metric.threshold === undefined ? '' : `${metric.direction === 'min' ? '≥' : '≤'} ${formatMetric(metric.threshold)}`;
    const interval = metric.interval ? `${formatMetric(metric.interval.lower)} – ${formatMetric(metric.interval.upper)} (${escapeMarkdown(metric.interval.method)})` : '';
    lines.push(
      `| ${escapeMarkdown(run.displayName)} | ${escapeMarkdown(capText(metric.name, 80))} | ${formatMetric(metric.value)} | ${bar} | ${interval} | ${metric.n ?? ''} | ${icon[metric.verdict]} | ${escapeMarkdown(capText(metric.detail ?? metric.id, 200))} |`
    );
  }
  if (rows.length > MAX_LIST) lines.push('', `… ${rows.length - MAX_LIST} more (see the JSON report).`);
  lines.push('');
  return lines;
}

function vulnerablePackageRows(findings: readonly EvaluatedFinding[], context: SummaryContext): string[] {
  const rows: string[] = [];
  for (const f of findings.slice(0, MAX_SUPPLY_ROWS)) {
    const pkg = f.package!;
    const fixed = pkg.fixedVersions && pkg.fixedVersions.length > 0 ? pkg.fixedVersions.map((v) => escapeMarkdown(capText(v, 60))).join(', ') : 'no fix released';
    const ids = [...new Set([f.ruleId, ...(f.aliases ?? [])])].slice(0, 6).map((id) => osvLink(capText(id, 80)));
    const severity = `${f.severity}${f.severityBasis ? ` (${escapeMarkdown(capText(f.severityBasis, 80))})` : ''}`;
    rows.push(
      `| ${escapeMarkdown(capText(`${pkg.name}${pkg.ecosystem ? ` (${pkg.ecosystem})` : ''}`, 200))} | ${escapeMarkdown(capText(pkg.version ?? '?', 60))} → ${fixed} | ${severity} | ${ids.join(' ')} | ${stateLabel(f)} | ${locationCell(f, context)} | ${escapeMarkdown(f.sources.map((s) => s.tool).join(', '))} |`
    );
  }
  if (findings.length > MAX_SUPPLY_ROWS) rows.push('', `… ${findings.length - MAX_SUPPLY_ROWS} more (see the JSON report).`);
  return rows;
}

/**
 * The container sections: image vulnerabilities by severity and package, misconfigurations
 * counted per file and severity, secrets (where and which rule; never a value).
 */
function containerSections(result: ScanResult, context: SummaryContext): string[] {
  const lines: string[] = [];
  const reported = result.findings.filter((f) => f.reported);
  const image = reported.filter((f) => f.package && f.tags?.includes('image'));
  if (image.length > 0) {
    const byPackage = new Set(image.map((f) => `${f.package!.name}@${f.package!.version ?? ''}`)).size;
    lines.push(`### Image vulnerabilities (${image.length} in ${byPackage} package(s))`, '', '| Package | Installed → fixed | Severity | Advisories | State | Points at | Tools |', '|---|---|---|---|---|---|---|');
    lines.push(...vulnerablePackageRows(image, context), '');
  }
  const misconfigurations = reported.filter((f) => f.tags?.includes('misconfiguration'));
  if (misconfigurations.length > 0) {
    const perFile = new Map<string, Map<string, number>>();
    for (const f of misconfigurations) {
      const file = f.location?.path ?? '(no file)';
      const counts = perFile.get(file) ?? new Map<string, number>();
      counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1);
      perFile.set(file, counts);
    }
    lines.push(`### Misconfigurations by file (${misconfigurations.length})`, '', `| File | ${SEVERITIES.join(' | ')} |`, `|---|${SEVERITIES.map(() => '---:').join('|')}|`);
    const files = [...perFile.keys()].sort();
    for (const file of files.slice(0, MAX_SUPPLY_ROWS)) {
      const counts = perFile.get(file)!;
      lines.push(`| ${escapeCode(capText(file, MAX_PATH_IN_CELL))} | ${SEVERITIES.map((sev) => counts.get(sev) ?? 0).join(' | ')} |`);
    }
    if (files.length > MAX_SUPPLY_ROWS) lines.push('', `… ${files.length - MAX_SUPPLY_ROWS} more files (see the JSON report).`);
    lines.push('');
  }
  const secrets = reported.filter((f) => f.tags?.includes('secret'));
  if (secrets.length > 0) {
    lines.push(`### Secrets (${secrets.length}; values redacted)`, '', '| Severity | Rule | Where | State | Tools |', '|---|---|---|---|---|');
    for (const f of secrets.slice(0, MAX_SUPPLY_ROWS)) {
      lines.push(`| ${f.severity} | ${escapeMarkdown(capText(`${f.tool}:${f.ruleId}`, 120))} | ${locationCell(f, context)} | ${stateLabel(f)} | ${escapeMarkdown(f.sources.map((s) => s.tool).join(', '))} |`);
    }
    if (secrets.length > MAX_SUPPLY_ROWS) lines.push('', `… ${secrets.length - MAX_SUPPLY_ROWS} more (see the JSON report).`);
    lines.push('');
  }
  return lines;
}

function supplyChainSections(result: ScanResult, context: SummaryContext): string[] {
  const lines: string[] = [];
  const dependencies = result.findings.filter((f) => f.reported && f.package && f.tags?.includes('dependency'));
  if (dependencies.length > 0) {
    lines.push(`### Vulnerable dependencies (${dependencies.length})`, '', '| Package | Installed → fixed | Severity | Advisories | State | Declared in | Tools |', '|---|---|---|---|---|---|---|');
    lines.push(...vulnerablePackageRows(dependencies, context), '');
  }
  lines.push(...containerSections(result, context));
  const models = (result.inventory ?? []).filter((item) => item.kind === 'machine-learning-model');
  if (models.length > 0) {
    const icon = { unsafe: '⛔ unsafe', clean: '✅ clean', 'not-scanned': '⚠️ not scanned' } as const;
    lines.push(`### Model files (${models.length})`, '', '| File | Verdict | Scanners | SHA-256 |', '|---|---|---|---|');
    for (const model of models.slice(0, MAX_SUPPLY_ROWS)) {
      const scanners = Object.entries(model.verdicts ?? {}).map(([tool, verdict]) => `${tool}: ${verdict}`);
      lines.push(
        `| ${escapeCode(capText(model.path ?? model.name, MAX_PATH_IN_CELL))} | ${icon[model.verdict ?? 'not-scanned']} | ${escapeMarkdown(scanners.length > 0 ? scanners.join(', ') : model.tools.join(', '))} | ${model.sha256 ? escapeCode(model.sha256.slice(0, 12)) : ''} |`
      );
    }
    if (models.length > MAX_SUPPLY_ROWS) lines.push('', `… ${models.length - MAX_SUPPLY_ROWS} more (see the JSON report or the SBOM).`);
    lines.push('');
  }
  const unchecked = result.unchecked ?? [];
  if (unchecked.length > 0) {
    const refused = unchecked.filter((item) => !item.allowedBy).length;
    lines.push(`### ⚠️ Not checked (${unchecked.length}: ${refused} not allowed, ${unchecked.length - refused} allowed by the policy ledger)`, '', '| Tool | What | Reason | Allowed |', '|---|---|---|---|');
    for (const item of unchecked.slice(0, MAX_SUPPLY_ROWS)) {
      const what = `${item.name}${item.version ? ` ${item.version}` : ''}${item.ecosystem ? ` (${item.ecosystem})` : ''}`;
      const allowed = item.allowedBy
        ? `yes: ledger entry ${item.allowedBy.entry}, owner ${escapeMarkdown(item.allowedBy.owner)}, until ${item.allowedBy.expires}`
        : '⛔ no';
      lines.push(`| ${escapeMarkdown(item.tool)} | ${escapeMarkdown(capText(what, 300))} | ${escapeMarkdown(truncate(item.reason, 300))} | ${allowed} |`);
    }
    if (unchecked.length > MAX_SUPPLY_ROWS) lines.push('', `… ${unchecked.length - MAX_SUPPLY_ROWS} more (see the JSON report).`);
    lines.push('');
  }
  const notApplicable = result.tools.filter((run) => run.status === 'not-applicable');
  if (notApplicable.length > 0) {
    lines.push('### Not applicable', '');
    for (const run of notApplicable) lines.push(`- ${escapeMarkdown(run.displayName)}: ${escapeMarkdown(truncate(run.skipReason ?? '', 300))}`);
    lines.push('');
  }
  return lines;
}

function ruleLabel(entry: { rule?: string; cve?: string; fingerprint?: string }): string {
  return escapeMarkdown(entry.rule ?? entry.cve ?? entry.fingerprint ?? '?');
}

/** "This change relaxes the gate": every weakening of the policy file against the base commit. */
function policyChangeSection(result: ScanResult): string[] {
  const change = result.policyChange;
  if (!change) return [];
  const file = escapeCode(change.policyFile);
  const lines: string[] = [];
  if (change.relaxations.length > 0) {
    lines.push('### ⚠️ This change relaxes the gate', '');
    lines.push(
      change.applied === 'base'
        ? `Compared with ${escapeMarkdown(change.baseLabel)}, this change's ${file} would relax the gate; \`policy-source: base\` applied the base commit's policy, so these changes had no effect:`
        : `Compared with ${escapeMarkdown(change.baseLabel)}, this change relaxes the gate (the policy applied is this change's ${file}; \`policy-source: base\` would apply the base commit's instead):`,
      ''
    );
    for (const r of change.relaxations.slice(0, MAX_LIST)) {
      const where = `${r.file}${r.line ? `:${r.line}` : ''}`;
      lines.push(`- ${escapeCode(where)} ${escapeMarkdown(truncate(r.message, 300))}`);
    }
    if (change.relaxations.length > MAX_LIST) lines.push(`- … ${change.relaxations.length - MAX_LIST} more (see the warnings in the log)`);
    lines.push('');
  }
  if (change.error) {
    lines.push('### ⚠️ Policy change not checked', '', `The policy could not be compared with ${escapeMarkdown(change.baseLabel)}: ${escapeMarkdown(truncate(change.error, 500))}`, '');
  }
  return lines;
}
