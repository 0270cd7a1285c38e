import { minimatch } from 'minimatch';
import { ConfigurationError } from '../errors.js';
import type { EvaluatedFinding, Finding, FindingState } from '../finding.js';
import { isAtLeast, type Severity, type Threshold } from '../severity.js';
import type { ChangedLines } from './changed-lines.js';
import type { ExceptionEntry, NewOnlyMode } from './policy.js';

export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface EffectivePolicy {
  failOn: Threshold;
  reportSeverity: Severity;
  newOnly: NewOnlyMode;
  exceptions: ExceptionEntry[];
}

export interface EvaluationContext {
  /** "Today" for expiry checks (injected so tests do not depend on the clock). */
  now: Date;
  baseline?: ReadonlySet<string>;
  changedLines?: ChangedLines;
}

export interface LedgerStatus {
  index: number;
  entry: ExceptionEntry;
  /** Findings this entry matched (for expired entries: would have matched). */
  matched: number;
  daysLeft: number;
}

export interface LedgerReport {
  expired: LedgerStatus[];
  expiringSoon: LedgerStatus[];
  unused: LedgerStatus[];
}

export interface Evaluation {
  findings: EvaluatedFinding[];
  ledger: LedgerReport;
}

/** End of the expiry day, UTC. Rejects impossible dates such as 2026-02-30. */
export function expiryInstant(expires: string, index: number): number {
  const [y, m, d] = expires.split('-').map(Number) as [number, number, number];
  const instant = Date.UTC(y, m - 1, d);
  const check = new Date(instant);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
    throw new ConfigurationError(`'${expires}' is not a real date`, `exceptions[${index}].expires`);
  }
  return instant + DAY_MS - 1;
}

export function entryMatches(entry: ExceptionEntry, finding: Finding): boolean {
  if (entry.fingerprint && entry.fingerprint !== finding.fingerprint) return false;
  if (entry.rule && !finding.sources.some((s) => ruleMatches(entry.rule!, s.tool, s.ruleId))) return false;
  if (entry.cve) {
    const wanted = entry.cve.toUpperCase();
    const ids = [...(finding.cve ?? []), ...(finding.aliases ?? []), finding.ruleId].map((id) => id.toUpperCase());
    if (!ids.includes(wanted)) return false;
  }
  if (entry.paths) {
    const file = finding.location?.path;
    if (!file || !entry.paths.some((glob) => minimatch(file, glob, { dot: true }))) return false;
  }
  return true;
}

function ruleMatches(rule: string, tool: string, ruleId: string): boolean {
  const colon = rule.indexOf(':');
  if (colon > 0 && !rule.includes('.')) {
    return rule.slice(0, colon) === tool && rule.slice(colon + 1) === ruleId;
  }
  return rule === ruleId || rule === `${tool}:${ruleId}`;
}

/**
 * Applies the exception ledger, the baseline, changed-lines filtering and `report-severity`.
 * Order matters: an exception is the strongest statement (it names a reason and owner), then
 * baseline, then the diff filter.
 */
export function evaluate(findings: Finding[], policy: EffectivePolicy, context: EvaluationContext): Evaluation {
  const now = context.now.getTime();
  const entries = policy.exceptions.map((entry, index) => {
    const expiresAt = expiryInstant(entry.expires, index);
    return { entry, index, expired: expiresAt < now, daysLeft: Math.floor((expiresAt - now) / DAY_MS), matched: 0 };
  });

  const evaluated = findings.map((finding): EvaluatedFinding => {
    const isNew = !context.baseline?.has(finding.fingerprint);
    let state: FindingState = { kind: 'active' };
    for (const candidate of entries) {
      if (!entryMatches(candidate.entry, finding)) continue;
      candidate.matched++;
      if (!candidate.expired && state.kind === 'active') {
        state = {
          kind: 'suppressed',
          reason: candidate.entry.reason,
          owner: candidate.entry.owner,
          expires: candidate.entry.expires,
          entry: candidate.index
        };
      }
    }
    if (state.kind === 'active' && policy.newOnly === 'baseline' && !isNew) state = { kind: 'baseline' };
    if (state.kind === 'active' && policy.newOnly === 'changed-lines' && context.changedLines) {
      if (!finding.inChange && !context.changedLines.contains(finding.location)) state = { kind: 'outside-changed-lines' };
    }
    return { ...finding, state, isNew, reported: isAtLeast(finding.severity, policy.reportSeverity) };
  });

  const status = (c: (typeof entries)[number]): LedgerStatus => ({
    index: c.index,
    entry: c.entry,
    matched: c.matched,
    daysLeft: c.daysLeft
  });
  return {
    findings: evaluated,
    ledger: {
      expired: entries.filter((c) => c.expired).map(status),
      expiringSoon: entries.filter((c) => !c.expired && c.daysLeft < EXPIRY_WARNING_DAYS).map(status),
      unused: entries.filter((c) => !c.expired && c.matched === 0).map(status)
    }
  };
}

export type Verdict = 'pass' | 'fail' | 'error';

/** Findings that count against the gate: active (not suppressed/baselined/outside the diff) and ≥ fail-on. */
export function blockingFindings(findings: EvaluatedFinding[], failOn: Threshold): EvaluatedFinding[] {
  return findings.filter((f) => f.state.kind === 'active' && isAtLeast(f.severity, failOn));
}
