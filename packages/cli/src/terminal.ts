import pc from 'picocolors';
import type { EvaluatedFinding, Logger, ScanResult, Severity, ToolRun } from '@secgate/core';
import { SEVERITIES, countBySeverity } from '@secgate/core';

// Escape sequences a terminal acts on: CSI (colours, cursor moves, erase), OSC (titles, hyperlinks,
// clipboard), DCS/SOS/PM/APC strings, two-byte ESC forms and the 8-bit CSI.
const ANSI_SEQUENCE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[PX^_][^\u001b]*(?:\u001b\\)?|[ -/]*[0-~])|\u009b[0-?]*[ -/]*[@-~]/g;
// What is left that can move the cursor, rewrite a line or reorder text: C0/C1 controls but tab
// and newline, DEL, Unicode line/paragraph separators and bidirectional overrides (Trojan Source).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Strips escape sequences and control characters from tool text so a finding cannot rewrite the terminal. */
export function clean(text: string): string {
  return text.replace(ANSI_SEQUENCE, '').replace(CONTROL, '');
}

/** Tool text for one line of the report: cleaned, whitespace (newlines too) collapsed. */
function oneLine(text: string): string {
  return clean(text).replace(/\s+/g, ' ').trim();
}

/**
 * Cuts text to at most `max` characters at a word boundary, marking the cut with `…` (never after
 * a full stop or comma, so no `.…`). Text that fits is returned as it is.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.lastIndexOf(' ', max - 1);
  // One very long word (a path, a hash): cut inside it rather than drop nearly everything.
  if (cut < max * 0.6) cut = max - 1;
  // Never split a surrogate pair.
  if (/[\ud800-\udbff]/.test(text.charAt(cut - 1))) cut--;
  return `${text.slice(0, cut).replace(/[\s.,;:]+$/, '')}…`;
}

/**
 * The runner reads `::command::` at a line start (after any whitespace) and `##[command]` anywhere,
 * also in the output of a CLI run in a workflow step: both are broken with a zero-width space.
 */
function inert(line: string): string {
  // Our own colour codes (SGR) may stand before the text: skip them too, whatever the runner does with them.
  return line.replace(/^((?:[\s\u0085\u180e\u200b-\u200d\u2060\ufeff]|\u001b\[[0-9;]*m)*)::/, '$1:\u200b:').replace(/##\[/g, '#\u200b#[');
}

export function terminalLogger(verbose: boolean): Logger {
  const write = (line: string): void => void process.stderr.write(`${inert(line)}\n`);
  return {
    debug: (m) => verbose && write(pc.dim(oneLine(m))),
    info: (m) => write(`${pc.cyan('›')} ${oneLine(m)}`),
    warning: (m) => write(`${pc.yellow('warning')} ${oneLine(m)}`),
    error: (m) => write(`${pc.red('error')} ${oneLine(m)}`),
    group: async (name, fn) => {
      write(pc.bold(oneLine(name)));
      return fn();
    }
  };
}

const COLOUR = { critical: pc.magenta, high: pc.red, medium: pc.yellow, low: pc.blue, info: pc.dim } as const;

export const TITLE_MAX = 160;
export const MESSAGE_MAX = 300;
const WARNING_MAX = 200;
const WARNINGS_SHOWN = 3;
// An error message is shown whole (it carries the tool's stderr tail), but a 1 MB path is not.
const ERROR_MAX = 4000;
const FULL_REPORT_HINT = 'every finding is in the --json <file> and --sarif <file> reports';

function where(f: EvaluatedFinding): string {
  const loc = f.location;
  return loc ? `${loc.path}${loc.startLine ? `:${loc.startLine}` : ''}${loc.startColumn ? `:${loc.startColumn}` : ''}` : '';
}

/**
 * Title and message for display, without saying the same sentence twice: titles often repeat the
 * start of the message after the rule name (semgrep: `rule-name: First sentence.`), sometimes cut
 * short. The title then shows as much of it as fits, ending on a whole word, and the message
 * carries on from exactly there (`…` on both sides of a cut), so no word is lost or repeated.
 */
export function titleAndMessage(rawTitle: string, rawMessage: string): { title: string; message: string } {
  const title = oneLine(rawTitle);
  const message = oneLine(rawMessage);
  const colon = title.indexOf(': ');
  for (const start of colon > 0 ? [0, colon + 2] : [0]) {
    const prefix = title.slice(0, start);
    const lead = title.slice(start).replace(/(?:…|\.\.\.)$/, '');
    if (lead.length < 12 || !message.startsWith(lead)) continue;
    // Room for the repeated text and a closing `…`.
    const budget = TITLE_MAX - prefix.length - 1;
    let end = lead.length;
    const endsOnWord = end === message.length || /\s/.test(message.charAt(end));
    if (!endsOnWord || end > budget) end = message.lastIndexOf(' ', Math.min(end, budget));
    if (end <= 0) break;
    const shown = message.slice(0, end).trimEnd();
    const rest = message.slice(end).trim();
    if (rest === '') return { title: `${prefix}${shown}`, message: '' };
    if (/[.!?]$/.test(shown)) return { title: `${prefix}${shown}`, message: rest };
    return { title: `${prefix}${shown.replace(/[\s,;:]+$/, '')}…`, message: `…${rest}` };
  }
  return { title: cutText(title, TITLE_MAX), message };
}

/** Tool text that names files: `./x.py` and absolute workspace paths shown as the findings show them. */
export function normalisePaths(text: string, workspace: string): string {
  const root = workspace.replace(/\/+$/, '');
  let out = text;
  if (root) out = out.split(`${root}/`).join('');
  return out.replace(/(^|[\s'"(=:,])\.\/(?=[^\s/])/g, '$1');
}

function toolLine(run: ToolRun): string {
  const name = `${clean(run.displayName)}${run.version ? ` ${clean(run.version)}` : ''}`;
  const timing = `install ${(run.installMs / 1000).toFixed(2)} s${run.cacheHit ? ' (cached)' : ''}, run ${(run.runMs / 1000).toFixed(2)} s`;
  if (run.status === 'skipped') return `  ${name}: ${pc.red(pc.bold('SKIPPED'))}: ${oneLine(run.skipReason ?? 'no reason given')} — nothing was checked`;
  if (run.status === 'not-applicable') return `  ${name}: ${pc.dim('not applicable')}: ${oneLine(run.skipReason ?? '')}`;
  if (run.status === 'failed') return `  ${name}: ${pc.red(pc.bold('FAILED'))}${run.error ? ` (${run.error.kind})` : ''}, ${timing}`;
  const warnings = run.warnings.length > 0 ? `, ${pc.yellow(`${run.warnings.length} warning(s)`)}` : '';
  return `  ${name}: ${pc.green('ok')}, ${run.findingCount} finding(s)${warnings}, ${timing}`;
}

export interface ReportOptions {
  /** Findings listed per severity; the rest are counted (default 50). */
  maxPerSeverity?: number;
  /** Lines about what the scan covered (e.g. which commits the secret scanners read), shown before the tools. */
  notes?: string[];
}

/**
 * The human report: findings grouped by severity, most severe first; then what each tool did
 * (warnings counted, skips and failures named), errors in full, how the counts add up, the verdict.
 */
export function renderReport(result: ScanResult, options: ReportOptions = {}): string {
  const maxPerSeverity = options.maxPerSeverity ?? 50;
  const out: string[] = [''];
  for (const severity of SEVERITIES) {
    const group = result.findings.filter((f) => f.severity === severity && f.reported && f.state.kind === 'active');
    if (group.length === 0) continue;
    out.push(COLOUR[severity](pc.bold(`${severity.toUpperCase()} (${group.length})`)));
    for (const f of group.slice(0, maxPerSeverity)) {
      const sources = f.sources.map((s) => `${s.tool}:${s.ruleId}`).join(', ');
      const shown = titleAndMessage(f.title, f.message);
      out.push(`  ${pc.bold(cutText(oneLine(where(f)), 300))}  ${shown.title} ${pc.dim(`[${cutText(oneLine(sources), 300)}]`)}`);
      if (shown.message) out.push(`      ${pc.dim(cutText(shown.message, MESSAGE_MAX))}`);
    }
    if (group.length > maxPerSeverity) {
      out.push(pc.dim(`  … ${group.length - maxPerSeverity} more ${severity} finding(s) not listed here: ${FULL_REPORT_HINT}`));
    }
    out.push('');
  }
  for (const s of result.ledger.expired) {
    out.push(pc.yellow(`expired exception #${s.index} (${oneLine(s.entry.rule ?? s.entry.cve ?? s.entry.fingerprint ?? '')}, owner ${oneLine(s.entry.owner)}, ${s.entry.expires}) no longer suppresses`));
  }
  for (const s of result.ledger.expiringSoon) {
    out.push(pc.yellow(`exception #${s.index} expires in ${s.daysLeft} day(s) (${s.entry.expires}, owner ${oneLine(s.entry.owner)})`));
  }
  out.push(...supplyChainLines(result, maxPerSeverity));
  for (const note of options.notes ?? []) out.push(oneLine(note));

  out.push('Tools:');
  for (const run of result.tools) {
    out.push(toolLine(run));
    for (const fact of run.facts ?? []) out.push(pc.dim(`    ${cutText(oneLine(normalisePaths(fact, result.workspace)), WARNING_MAX)}`));
    for (const m of run.metrics ?? []) {
      const bar = m.threshold === undefined ? '' : ` (${m.direction === 'min' ? '>=' : '<='} ${m.threshold})`;
      const ci = m.interval ? ` [${m.interval.lower.toFixed(3)}, ${m.interval.upper.toFixed(3)}]` : '';
      const verdict = m.verdict === 'pass' ? pc.green('pass') : m.verdict === 'fail' ? pc.red('fail') : pc.yellow('inconclusive');
      out.push(`    ${cutText(oneLine(`${m.name} ${Number(m.value.toFixed(4))}${bar}${ci}${m.n !== undefined ? ` n=${m.n}` : ''}: `), WARNING_MAX)}${verdict} ${pc.dim(cutText(oneLine(m.detail ?? m.id), 120))}`);
    }
    for (const warning of run.warnings.slice(0, WARNINGS_SHOWN)) {
      out.push(`    ${pc.yellow('warning')} ${cutText(oneLine(normalisePaths(warning, result.workspace)), WARNING_MAX)}`);
    }
    if (run.warnings.length > WARNINGS_SHOWN) {
      out.push(pc.dim(`    … ${run.warnings.length - WARNINGS_SHOWN} more warning(s): all are in the --json <file> report`));
    }
  }
  if (result.errors.length > 0) {
    out.push(pc.red(pc.bold(`Errors (${result.errors.length}):`)));
    for (const error of result.errors) {
      const text = clean(normalisePaths(error.message, result.workspace)).replace(/\s*\n\s*/g, ' | ');
      // The kind, not the class name: bundlers rename classes (errors_ConfigurationError).
      out.push(pc.red(`  ${error.kind}: ${text.length > ERROR_MAX ? cutText(text, ERROR_MAX) : text}`));
    }
  }

  out.push(countsLine(result));
  out.push(stateLine(result));
  out.push(`Verdict: ${verdictText(result)}`);
  return out.map(inert).join('\n');
}

/** sca: vulnerable dependencies (installed → fixed), model file verdicts, and what was not checked. */
function supplyChainLines(result: ScanResult, max: number): string[] {
  const out: string[] = [];
  const dependencies = result.findings.filter((f) => f.reported && f.package && f.tags?.includes('dependency'));
  if (dependencies.length > 0) {
    out.push(pc.bold(`Vulnerable dependencies (${dependencies.length}):`));
    for (const f of dependencies.slice(0, max)) {
      const pkg = f.package!;
      const fixed = pkg.fixedVersions && pkg.fixedVersions.length > 0 ? pkg.fixedVersions.join(', ') : 'no fix released';
      const ids = [...new Set([f.ruleId, ...(f.aliases ?? [])])].join(', ');
      const basis = f.severityBasis ? ` (${f.severityBasis})` : '';
      const state = f.state.kind === 'active' ? '' : ` [${f.state.kind}]`;
      out.push(cutText(oneLine(`  ${pkg.name} ${pkg.version ?? '?'} → ${fixed}: ${f.severity}${basis} ${ids} at ${where(f)}${state}`), 600));
    }
    if (dependencies.length > max) out.push(pc.dim(`  … ${dependencies.length - max} more: ${FULL_REPORT_HINT}`));
    out.push('');
  }
  const models = (result.inventory ?? []).filter((item) => item.kind === 'machine-learning-model');
  if (models.length > 0) {
    out.push(pc.bold(`Model files (${models.length}):`));
    for (const model of models.slice(0, max)) {
      const verdict = model.verdict === 'unsafe' ? pc.red('UNSAFE') : model.verdict === 'clean' ? pc.green('clean') : pc.yellow('NOT SCANNED');
      const scanners = Object.entries(model.verdicts ?? {}).map(([tool, v]) => `${tool}: ${v}`).join(', ') || model.tools.join(', ');
      out.push(`  ${cutText(oneLine(model.path ?? model.name), 300)}: ${verdict} ${pc.dim(`[${oneLine(scanners)}]`)}`);
    }
    out.push('');
  }
  const unchecked = result.unchecked ?? [];
  if (unchecked.length > 0) {
    out.push(pc.yellow(pc.bold(`Not checked (${unchecked.length}):`)));
    for (const item of unchecked.slice(0, max)) {
      const allowed = item.allowedBy ? pc.dim(` (allowed by ledger entry ${item.allowedBy.entry} until ${item.allowedBy.expires})`) : '';
      out.push(cutText(oneLine(`  ${item.tool}: ${item.name}${item.version ? ` ${item.version}` : ''}: ${item.reason}`), 600) + allowed);
    }
    if (unchecked.length > max) out.push(pc.dim(`  … ${unchecked.length - max} more: ${FULL_REPORT_HINT}`));
    out.push('');
  }
  return out;
}

/** How the tools' own counts become the report's: merged duplicates said in words, not left to add up. */
function countsLine(result: ScanResult): string {
  const ran = result.tools.filter((t) => t.status === 'ok');
  const raw = ran.reduce((sum, t) => sum + t.findingCount, 0);
  const merged = result.findings.length;
  const tools = `${ran.length} tool(s)`;
  if (raw === merged) return `Findings: ${merged} from ${tools}`;
  const folded = raw - merged;
  return folded > 0
    ? `Findings: ${raw} raw from ${tools}, ${merged} after merging ${folded} that another tool (or rule) also reported`
    : `Findings: ${raw} raw from ${tools}, ${merged} in the report`;
}

/** Active findings per severity and only the states the policy can produce in this run. */
function stateLine(result: ScanResult): string {
  const counts = countBySeverity(result);
  const byState = (kind: string): number => result.findings.filter((f) => f.state.kind === kind).length;
  const states: string[] = [];
  const suppressed = byState('suppressed');
  if (result.policy.exceptions.length > 0 || suppressed > 0) states.push(`${suppressed} suppressed by exceptions`);
  const baseline = byState('baseline');
  if (result.policy.newOnly === 'baseline' || baseline > 0) states.push(`${baseline} in baseline`);
  const outside = byState('outside-changed-lines');
  if (result.policy.newOnly === 'changed-lines' || outside > 0) states.push(`${outside} outside the diff`);
  const unlisted = result.findings.filter((f) => f.state.kind === 'active' && !f.reported).length;
  if (unlisted > 0) states.push(`${unlisted} below report-severity ${result.policy.reportSeverity} (counted, not listed)`);
  const perSeverity = SEVERITIES.map((s: Severity) => `${counts[s]} ${s}`).join(', ');
  return `Active: ${perSeverity}${states.length > 0 ? `; ${states.join(', ')}` : ''}`;
}

function verdictText(result: ScanResult): string {
  if (result.verdict === 'pass') return pc.green(pc.bold('PASS'));
  if (result.verdict === 'fail') return pc.red(pc.bold(`FAIL: ${result.blocking.length} finding(s) at or above ${result.policy.failOn}`));
  const kinds = [...new Set(result.errors.map((e) => e.kind))].join(', ') || 'unknown';
  const over = result.blocking.length > 0 ? `; also ${result.blocking.length} finding(s) at or above ${result.policy.failOn}` : '';
  return pc.red(pc.bold(`ERROR (${kinds}): results are incomplete, so this is not a pass${over}`));
}
