import type { StageDefinition } from '../adapter.js';
import type { RawSettings } from '../config.js';
import { errorMessage } from '../errors.js';
import { parseToolVersions } from '../config.js';
import type { RepoFileSource } from '../workspace.js';
import { DEFAULT_BASELINE_FILE, MAX_BASELINE_BYTES, parseBaseline } from './baseline.js';
import { minimatch } from 'minimatch';
import { stricterThreshold } from './evaluate.js';
import {
  DEFAULT_POLICY_FILE,
  MAX_POLICY_BYTES,
  normalisePackageName,
  parsePolicy,
  parsePolicyDocument,
  type ExceptionEntry,
  type PackageRule,
  type PolicyDocument,
  type PolicyFile
} from './policy.js';
import { severityRank, type Severity, type Threshold } from '../severity.js';

/**
 * The policy file is part of the code under review: a pull request can lower its own gate. These
 * pure functions compare the head's policy with the base commit's and list every weakening, with
 * the line to annotate, so that no relaxation passes without a trace.
 */

export interface Relaxation {
  /** The setting that changed, e.g. `fail-on`, `exclude[1]`, `exceptions[0].paths`. */
  key: string;
  /** What changed, in words. */
  message: string;
  /** Workspace-relative file to annotate: the policy file, or the baseline when its content grew. */
  file: string;
  /** Line in the head's version of `file`; undefined when the setting was removed. */
  line?: number;
}

export interface PolicyChangeReport {
  /** Where the base policy came from, e.g. "base commit 1a2b3c4". */
  baseLabel: string;
  /** Workspace-relative policy file. */
  policyFile: string;
  /** Which side's policy the scan applied (`policy-source`). */
  applied: 'head' | 'base';
  relaxations: Relaxation[];
  /** Set when the comparison could not be made: shown as a warning, never read as "no relaxation". */
  error?: string;
}

export interface RelaxationOptions {
  /** Workspace-relative policy file (for annotations). */
  file: string;
  /** Keys whose policy value has no effect because an action input or CLI flag sets them. */
  overridden?: ReadonlySet<string>;
  /** Built-in per-tool time limits in minutes (the adapters' defaults). */
  defaultTimeoutMinutes?: Readonly<Record<string, number>>;
}

const DEFAULT_FAIL_ON = 'high';
const DEFAULT_REPORT_SEVERITY = 'low';
/** How much a fail-on value blocks: info blocks most, none blocks nothing. */
const FAIL_ON_STRICTNESS: Record<string, number> = { info: 5, low: 4, medium: 3, high: 2, critical: 1, none: 0 };
const DEFAULT_UNKNOWN_SEVERITY = 'high';

/** Every way `head` is weaker than `base` (undefined = no policy file = built-in defaults). */
export function findRelaxations(base: PolicyFile | undefined, head: PolicyDocument | undefined, options: RelaxationOptions): Relaxation[] {
  const before = base ?? {};
  const after = head?.policy ?? {};
  const overridden = options.overridden ?? new Set<string>();
  const relaxations: Relaxation[] = [];
  const add = (key: string, message: string, keyPath: (string | number)[]): void => {
    relaxations.push({ key, message, file: options.file, line: head?.lineOf(keyPath) });
  };

  if (!overridden.has('fail-on')) {
    const was = before['fail-on'] ?? DEFAULT_FAIL_ON;
    const now = after['fail-on'] ?? DEFAULT_FAIL_ON;
    if (FAIL_ON_STRICTNESS[now]! < FAIL_ON_STRICTNESS[was]!) {
      add('fail-on', now === 'none' ? `fail-on lowered from ${was} to none: no finding fails the gate` : `fail-on lowered from ${was} to ${now}`, ['fail-on']);
    }
  }
  if (!overridden.has('report-severity')) {
    const was = before['report-severity'] ?? DEFAULT_REPORT_SEVERITY;
    const now = after['report-severity'] ?? DEFAULT_REPORT_SEVERITY;
    if (severityRank(now as Severity) > severityRank(was as Severity)) add('report-severity', `report-severity raised from ${was} to ${now}: fewer findings are shown`, ['report-severity']);
  }
  if (!overridden.has('new-only')) {
    const was = before['new-only'] ?? 'off';
    const now = after['new-only'] ?? 'off';
    if (now !== was && now !== 'off') add('new-only', `new-only turned to ${now} (was ${was}): existing findings no longer fail the gate`, ['new-only']);
  }
  if (!overridden.has('baseline')) {
    const was = before.baseline ?? DEFAULT_BASELINE_FILE;
    const now = after.baseline ?? DEFAULT_BASELINE_FILE;
    if (now !== was) add('baseline', `baseline file changed from ${was} to ${now}`, ['baseline']);
  }

  if (!overridden.has('ignore-unfixed') && after['ignore-unfixed'] === true && before['ignore-unfixed'] !== true) {
    add('ignore-unfixed', 'ignore-unfixed turned on: vulnerabilities without a fixed version no longer fail the gate', ['ignore-unfixed']);
  }
  if (!overridden.has('unknown-severity')) {
    const was = before['unknown-severity'] ?? DEFAULT_UNKNOWN_SEVERITY;
    const now = after['unknown-severity'] ?? DEFAULT_UNKNOWN_SEVERITY;
    if (severityRank(now as Severity) < severityRank(was as Severity)) {
      add('unknown-severity', `unknown-severity lowered from ${was} to ${now}: vulnerabilities without a severity may no longer fail the gate`, ['unknown-severity']);
    }
  }
  packagePolicyRelaxations(before, after, overridden.has('fail-on'), (key, message, keyPath) => add(key, message, keyPath));

  const excludedBefore = new Set(before.exclude ?? []);
  (after.exclude ?? []).forEach((pattern, index) => {
    if (!excludedBefore.has(pattern)) add(`exclude[${index}]`, `new exclude pattern '${pattern}': findings under it are dropped`, ['exclude', index]);
  });

  for (const [tool, settings] of Object.entries(after.tools ?? {})) {
    const old = before.tools?.[tool] ?? {};
    if (settings.enabled === false && old.enabled !== false) add(`tools.${tool}.enabled`, `${tool} disabled`, ['tools', tool, 'enabled']);
    if (settings['allow-unverified'] === true && old['allow-unverified'] !== true) {
      add(`tools.${tool}.allow-unverified`, `${tool} may run an unverified build (allow-unverified)`, ['tools', tool, 'allow-unverified']);
    }
    if (!overridden.has(`tool-versions.${tool}`) && (settings.version !== old.version || settings.sha256 !== old.sha256) && settings.version !== undefined) {
      add(`tools.${tool}.version`, `${tool} version overridden to ${settings.version}${old.version ? ` (was ${old.version})` : ''}`, ['tools', tool, 'version']);
    }
  }
  if (!overridden.has('timeout-minutes')) {
    const tools = new Set([...Object.keys(before.tools ?? {}), ...Object.keys(after.tools ?? {})]);
    for (const tool of tools) {
      const fallback = options.defaultTimeoutMinutes?.[tool];
      const was = before.tools?.[tool]?.['timeout-minutes'] ?? fallback;
      const now = after.tools?.[tool]?.['timeout-minutes'] ?? fallback;
      if (now !== undefined && was !== undefined && now < was) {
        add(`tools.${tool}.timeout-minutes`, `${tool} time limit lowered from ${was} to ${now} minute(s)`, ['tools', tool, 'timeout-minutes']);
      }
    }
  }

  (after.exceptions ?? []).forEach((entry, index) => {
    const baseEntries = before.exceptions ?? [];
    if (baseEntries.some((old) => covers(old, entry))) return;
    const sameSelector = baseEntries.find((old) => covers({ ...old, paths: undefined, expires: '9999-12-31' }, entry));
    const what = `exception ${describeEntry(entry)}`;
    if (sameSelector && !pathsCovered(sameSelector.paths, entry.paths)) {
      add(`exceptions[${index}].paths`, `${what} widened to ${entry.paths ? entry.paths.join(', ') : 'all paths'} (was ${sameSelector.paths!.join(', ')})`, [
        'exceptions',
        index,
        ...(entry.paths ? ['paths'] : [])
      ]);
    } else if (sameSelector) {
      add(`exceptions[${index}].expires`, `${what} extended from ${sameSelector.expires} to ${entry.expires}`, ['exceptions', index, 'expires']);
    } else if (entry.unaudited !== undefined) {
      add(`exceptions[${index}]`, `new ${what}, until ${entry.expires}: ${entry.unaudited} may stay unchecked by the vulnerability tools`, ['exceptions', index]);
    } else {
      add(`exceptions[${index}]`, `new ${what} on ${entry.paths ? entry.paths.join(', ') : 'all paths'}, until ${entry.expires}`, ['exceptions', index]);
    }
  });
  return relaxations;
}

/**
 * Package rules the head weakens: for every package a base rule names, the head's gate for it (its
 * own rules, or its `fail-on` when that is stricter) must block at least as much as the base rule.
 */
function packagePolicyRelaxations(
  before: PolicyFile,
  after: PolicyFile,
  failOnOverridden: boolean,
  add: (key: string, message: string, keyPath: (string | number)[]) => void
): void {
  const headRules = after['package-policy'] ?? [];
  // With `fail-on` set by an input, the file's value has no effect and cannot stand in for a rule.
  const headFailOn: Threshold = failOnOverridden ? 'none' : (after['fail-on'] ?? DEFAULT_FAIL_ON);
  const reported = new Set<string>();
  for (const rule of before['package-policy'] ?? []) {
    for (const pattern of rule.packages) {
      const covering = headRules
        .map((headRule, index) => ({ headRule, index }))
        .filter(({ headRule }) => ruleScopeCovers(headRule, rule) && headRule.packages.some((p) => patternCovers(p, pattern, rule.ecosystem)));
      const headThreshold = covering.reduce<Threshold>((t, { headRule }) => stricterThreshold(t, headRule['fail-on']), headFailOn);
      if (stricterThreshold(headThreshold, rule['fail-on']) === headThreshold) continue;
      const id = `${pattern}\u0000${rule.ecosystem ?? ''}`;
      if (reported.has(id)) continue;
      reported.add(id);
      const what = `package-policy for ${pattern}${rule.ecosystem ? ` (${rule.ecosystem})` : ''}`;
      const strictest = covering.sort((a, b) => FAIL_ON_STRICTNESS[b.headRule['fail-on']]! - FAIL_ON_STRICTNESS[a.headRule['fail-on']]!)[0];
      if (strictest) {
        add(`package-policy[${strictest.index}].fail-on`, `${what} loosened from ${rule['fail-on']} to ${strictest.headRule['fail-on']}`, ['package-policy', strictest.index, 'fail-on']);
      } else {
        const narrowed = headRules.findIndex((headRule) => headRule.packages.some((p) => patternCovers(p, pattern, rule.ecosystem)));
        if (narrowed >= 0) {
          add(`package-policy[${narrowed}].ecosystem`, `${what} narrowed to ecosystem ${headRules[narrowed]!.ecosystem ?? '(none)'} (was fail-on ${rule['fail-on']} in ${rule.ecosystem ?? 'every ecosystem'})`, ['package-policy', narrowed, 'ecosystem']);
        } else {
          add('package-policy', `${what} removed (was fail-on ${rule['fail-on']})`, ['package-policy']);
        }
      }
    }
  }
}

/** A head rule applies to every package the base rule did when it names no ecosystem or the same one. */
function ruleScopeCovers(headRule: PackageRule, baseRule: PackageRule): boolean {
  return headRule.ecosystem === undefined || headRule.ecosystem.toLowerCase() === baseRule.ecosystem?.toLowerCase();
}

/** The same pattern, or a glob that matches a plain base name (glob containment is not decidable in general). */
function patternCovers(headPattern: string, basePattern: string, ecosystem: string | undefined): boolean {
  const normalise = (p: string): string => normalisePackageName(p, ecosystem ?? 'PyPI');
  if (normalise(headPattern) === normalise(basePattern)) return true;
  return !/[*?[\]]/.test(basePattern) && minimatch(normalise(basePattern), normalise(headPattern), { dot: true, nocomment: true, nonegate: true });
}

/** The advisory ids an entry selects (`advisory` and its synonym `cve`), upper-case. */
function advisorySelectors(entry: ExceptionEntry): string[] {
  return [entry.advisory, entry.cve].filter((id): id is string => id !== undefined).map((id) => id.toUpperCase());
}

/** True when every finding `entry` suppresses, and for as long, `old` suppressed already. */
function covers(old: ExceptionEntry, entry: ExceptionEntry): boolean {
  if (old.fingerprint && old.fingerprint !== entry.fingerprint) return false;
  // `cve: X` and `advisory: X` select the same findings; the new entry must select at least the same ids.
  const newIds = advisorySelectors(entry);
  if (!advisorySelectors(old).every((id) => newIds.includes(id))) return false;
  if (old.rule && !(entry.rule && ruleCovers(old.rule, entry.rule))) return false;
  if (old.package && !(entry.package && normalisePackageName(entry.package, 'PyPI') === normalisePackageName(old.package, 'PyPI'))) return false;
  if ((old.unaudited === undefined) !== (entry.unaudited === undefined)) return false;
  if (old.unaudited !== undefined && normalisePackageName(old.unaudited, 'PyPI') !== normalisePackageName(entry.unaudited!, 'PyPI')) return false;
  return pathsCovered(old.paths, entry.paths) && entry.expires <= old.expires;
}

/** `B602` covers `bandit:B602`; a tool-qualified rule covers only itself. */
function ruleCovers(old: string, rule: string): boolean {
  return old === rule || (rule.endsWith(`:${old}`) && !old.includes(':'));
}

/** Glob containment is not decidable in general: only the same globs (or none before) count as covered. */
function pathsCovered(old: string[] | undefined, paths: string[] | undefined): boolean {
  if (!old) return true;
  return paths !== undefined && paths.every((p) => old.includes(p));
}

function describeEntry(entry: ExceptionEntry): string {
  return [
    entry.rule && `rule ${entry.rule}`,
    entry.fingerprint && `fingerprint ${entry.fingerprint}`,
    entry.advisory && `advisory ${entry.advisory}`,
    entry.cve && `cve ${entry.cve}`,
    entry.package && `package ${entry.package}`,
    entry.unaudited && `unaudited ${entry.unaudited}`
  ]
    .filter(Boolean)
    .join(' + ');
}

/** Keys the action inputs / CLI flags set, so the policy file's values for them are ignored. */
export function overriddenKeys(raw: RawSettings): Set<string> {
  const keys = new Set<string>();
  if (raw.failOn) keys.add('fail-on');
  if (raw.reportSeverity) keys.add('report-severity');
  if (raw.newOnly) keys.add('new-only');
  if (raw.baseline) keys.add('baseline');
  if (raw.timeoutMinutes) keys.add('timeout-minutes');
  if (raw.options['ignore-unfixed']?.trim()) keys.add('ignore-unfixed');
  if (raw.options['unknown-severity']?.trim()) keys.add('unknown-severity');
  try {
    for (const tool of Object.keys(parseToolVersions(raw.toolVersions, false))) keys.add(`tool-versions.${tool}`);
  } catch {
    // prepareScan has already refused a bad value
  }
  return keys;
}

/**
 * Reads the policy (and, in baseline mode, the baseline) from the base commit and the working
 * tree and lists the relaxations. Never throws: a comparison that cannot be made is reported.
 */
export async function assessPolicyChange(
  stages: readonly StageDefinition[],
  raw: RawSettings,
  sources: { base: RepoFileSource; head: RepoFileSource },
  applied: 'head' | 'base'
): Promise<PolicyChangeReport> {
  const policyFile = raw.config || DEFAULT_POLICY_FILE;
  const report: PolicyChangeReport = { baseLabel: sources.base.label, policyFile, applied, relaxations: [] };
  try {
    const baseText = await sources.base.read(policyFile, 'config', { maxBytes: MAX_POLICY_BYTES });
    const headText = await sources.head.read(policyFile, 'config', { maxBytes: MAX_POLICY_BYTES });
    const base = baseText === undefined ? undefined : parsePolicy(baseText, `${policyFile} (${sources.base.label})`);
    const head = headText === undefined ? undefined : parsePolicyDocument(headText, policyFile);
    const defaultTimeoutMinutes = Object.fromEntries(stages.flatMap((s) => s.adapters.map((a) => [a.id, a.defaultTimeoutMs / 60_000])));
    report.relaxations = findRelaxations(base, head, { file: policyFile, overridden: overriddenKeys(raw), defaultTimeoutMinutes });

    const newOnly = (raw.newOnly || head?.policy['new-only'] || 'off').trim().toLowerCase();
    if (newOnly === 'baseline' || raw.baseline) {
      const baselineFile = raw.baseline || head?.policy.baseline || DEFAULT_BASELINE_FILE;
      const headBaseline = await sources.head.read(baselineFile, 'baseline', { maxBytes: MAX_BASELINE_BYTES });
      const baseBaseline = await sources.base.read(baselineFile, 'baseline', { maxBytes: MAX_BASELINE_BYTES });
      const after = headBaseline === undefined ? new Set<string>() : parseBaseline(headBaseline, baselineFile);
      const before = baseBaseline === undefined ? new Set<string>() : parseBaseline(baseBaseline, `${baselineFile} (${sources.base.label})`);
      const added = [...after].filter((fingerprint) => !before.has(fingerprint));
      if (added.length > 0) {
        report.relaxations.push({
          key: 'baseline',
          message: `${added.length} fingerprint(s) added to the baseline ${baselineFile}${baseBaseline === undefined ? ' (new file)' : ''}: those findings no longer fail the gate`,
          file: baselineFile
        });
      }
    }
  } catch (error) {
    report.error = errorMessage(error);
  }
  return report;
}
