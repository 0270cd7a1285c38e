import { minimatch } from 'minimatch';
import type { UncheckedItem } from '../adapter.js';
import { ConfigurationError } from '../errors.js';
import type { EvaluatedFinding, Finding, FindingState } from '../finding.js';
import { isAtLeast, type Severity, type Threshold } from '../severity.js';
import type { ChangedLines } from './changed-lines.js';
import { packagePatternMatches, type ExceptionEntry, type NewOnlyMode, type PackageRule } from './policy.js';

export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface EffectivePolicy {
  failOn: Threshold;
  reportSeverity: Severity;
  newOnly: NewOnlyMode;
  exceptions: ExceptionEntry[];
  /** Stricter gates for named packages (`package-policy`); never looser than `failOn`. Default none. */
  packagePolicy?: PackageRule[];
  /** `ignore-unfixed`: vulnerabilities without a fixed version are shown, never blocking. Default false. */
  ignoreUnfixed?: boolean;
  /** Severity given to a vulnerability whose advisory has none (`unknown-severity`). Default `high`. */
  unknownSeverity?: Severity;
}

export const DEFAULT_UNKNOWN_SEVERITY: Severity = 'high';

export interface EvaluationContext {
  /** "Today" for expiry checks (injected so tests do not depend on the clock). */
  now: Date;
  baseline?: ReadonlySet<string>;
  changedLines?: ChangedLines;
  /**
   * What the tools could not check: counts against the ledger's `unaudited` entries. When absent,
   * `unaudited` entries are never listed as unused (their use is not known here).
   */
  unchecked?: readonly UncheckedItem[];
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
  // An `unaudited` entry allows an unchecked dependency (see uncheckedAllowance), never a finding.
  if (entry.unaudited !== undefined) return false;
  // The schema requires a selector; without one an entry would match every finding.
  if (!entry.fingerprint && !entry.rule && !entry.advisory && !entry.cve) return false;
  if (entry.fingerprint && !knownFingerprints(finding).includes(entry.fingerprint)) return false;
  if (entry.rule && !finding.sources.some((s) => ruleMatches(entry.rule!, s.tool, s.ruleId))) return false;
  for (const wanted of [entry.advisory, entry.cve]) {
    if (wanted !== undefined && !advisoryIds(finding).has(wanted.toUpperCase())) return false;
  }
  if (entry.package !== undefined) {
    if (!finding.package || !packagePatternMatches(entry.package, finding.package.name, finding.package.ecosystem)) return false;
  }
  if (entry.paths) {
    const file = finding.location?.path;
    if (!file || !entry.paths.some((glob) => minimatch(file, glob, { dot: true }))) return false;
  }
  return true;
}

/** The finding's fingerprint and those of the reports merged into it (see FindingSource.fingerprint). */
export function knownFingerprints(finding: Finding): string[] {
  const merged = finding.sources.flatMap((s) => (s.fingerprint !== undefined && s.fingerprint !== finding.fingerprint ? [s.fingerprint] : []));
  return [finding.fingerprint, ...merged];
}

/**
 * Every id a finding is known by, upper-case: its rule id, aliases and CVEs, and those of every
 * tool merged into it (a merged finding keeps the union of aliases; see mergeDuplicates).
 */
function advisoryIds(finding: Finding): Set<string> {
  return new Set([finding.ruleId, ...finding.sources.map((s) => s.ruleId), ...(finding.cve ?? []), ...(finding.aliases ?? [])].map((id) => id.toUpperCase()));
}

/**
 * The ledger entry that allows a tool to leave `item` unchecked (`unaudited: <package>`), or
 * undefined. Only dependencies can be allowed; an expired entry allows nothing.
 */
export function uncheckedAllowance(item: UncheckedItem, exceptions: readonly ExceptionEntry[], now: Date): ExceptionEntry | undefined {
  // A file (a Helm chart Checkov cannot render) is allowed by its workspace path or a folder above it.
  const matches = (pattern: string): boolean =>
    item.kind === 'dependency' ? packagePatternMatches(pattern, item.name, item.ecosystem) : pathAtOrBelow(item.name, pattern);
  return exceptions.find((entry, index) => entry.unaudited !== undefined && expiryInstant(entry.expires, index) >= now.getTime() && matches(entry.unaudited));
}

function pathAtOrBelow(file: string, folder: string): boolean {
  const dir = folder.replace(/^\.\//, '').replace(/\/+$/, '');
  return dir !== '' && (file === dir || file.startsWith(`${dir}/`));
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
    const baseline = context.baseline;
    const isNew = !baseline || !knownFingerprints(finding).some((fingerprint) => baseline.has(fingerprint));
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
    if (state.kind === 'active' && policy.ignoreUnfixed && isUnfixed(finding)) state = { kind: 'unfixed' };
    if (state.kind === 'active' && policy.newOnly === 'baseline' && !isNew) state = { kind: 'baseline' };
    if (state.kind === 'active' && policy.newOnly === 'changed-lines' && context.changedLines) {
      if (!finding.inChange && !context.changedLines.contains(finding.location)) state = { kind: 'outside-changed-lines' };
    }
    return { ...finding, state, isNew, reported: isAtLeast(finding.severity, policy.reportSeverity) };
  });
  for (const item of context.unchecked ?? []) {
    if (item.kind !== 'dependency') continue;
    for (const candidate of entries) {
      if (candidate.entry.unaudited !== undefined && packagePatternMatches(candidate.entry.unaudited, item.name, item.ecosystem)) candidate.matched++;
    }
  }
  // Without the unchecked items, an unaudited entry's use is unknown: not "unused".
  const usageKnown = (c: (typeof entries)[number]): boolean => c.entry.unaudited === undefined || context.unchecked !== undefined;

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
      unused: entries.filter((c) => !c.expired && c.matched === 0 && usageKnown(c)).map(status)
    }
  };
}

export type Verdict = 'pass' | 'fail' | 'error';

/**
 * A vulnerability no released version fixes: the tool gave the package's fixed versions and there
 * are none. Unknown (`fixedVersions` absent) is not "unfixed": `ignore-unfixed` must not hide a
 * finding only because a tool does not say.
 */
export function isUnfixed(finding: Finding): boolean {
  return finding.package?.fixedVersions !== undefined && finding.package.fixedVersions.length === 0;
}

const THRESHOLD_RANK: Record<Threshold, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0, none: 5 };

/** The stricter of two thresholds: the one that blocks more (`medium` over `high`; anything over `none`). */
export function stricterThreshold(a: Threshold, b: Threshold): Threshold {
  return THRESHOLD_RANK[b] < THRESHOLD_RANK[a] ? b : a;
}

/** The package rules naming the finding's package (a finding without a package has none). */
export function packageRulesFor(finding: Finding, rules: readonly PackageRule[] = []): PackageRule[] {
  const pkg = finding.package;
  if (!pkg) return [];
  return rules.filter(
    (rule) =>
      (rule.ecosystem === undefined || rule.ecosystem.toLowerCase() === pkg.ecosystem?.toLowerCase()) &&
      rule.packages.some((pattern) => packagePatternMatches(pattern, pkg.name, pkg.ecosystem))
  );
}

/** The threshold that gates this finding: `fail-on`, made stricter by every package rule naming its package. */
export function failOnFor(finding: Finding, policy: Pick<EffectivePolicy, 'failOn' | 'packagePolicy'>): Threshold {
  return packageRulesFor(finding, policy.packagePolicy).reduce<Threshold>((threshold, rule) => stricterThreshold(threshold, rule['fail-on']), policy.failOn);
}

/**
 * Findings that count against the gate: active (not suppressed, unfixed, baselined or outside the
 * diff) and at or above their threshold (`fail-on`, or a stricter `package-policy` rule).
 */
export function blockingFindings(findings: EvaluatedFinding[], policy: Pick<EffectivePolicy, 'failOn' | 'packagePolicy'>): EvaluatedFinding[] {
  return findings.filter((f) => f.state.kind === 'active' && isAtLeast(f.severity, failOnFor(f, policy)));
}
