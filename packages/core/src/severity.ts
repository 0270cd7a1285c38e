import { ConfigurationError } from './errors.js';

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
/** A gate threshold: a severity, or `none` to never fail on findings. */
export type Threshold = Severity | 'none';

const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };

export function severityRank(severity: Severity): number {
  return RANK[severity];
}

export function isAtLeast(severity: Severity, threshold: Threshold): boolean {
  return threshold !== 'none' && RANK[severity] >= RANK[threshold];
}

export function compareSeverityDesc(a: Severity, b: Severity): number {
  return RANK[b] - RANK[a];
}

export function parseThreshold(value: string, key: string): Threshold {
  const normalised = value.trim().toLowerCase();
  if (normalised === 'none' || (SEVERITIES as readonly string[]).includes(normalised)) {
    return normalised as Threshold;
  }
  throw new ConfigurationError(`'${value}' is not one of none, ${SEVERITIES.join(', ')}`, key);
}

/** SARIF `security-severity` scores GitHub buckets into critical (≥9), high (≥7), medium (≥4), low. */
export const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '2.0',
  info: '0.0'
};

export function severityFromScore(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'info';
}

/**
 * The effective `unknown-severity` option: the severity of a finding whose tool gives none and that
 * no secgate map covers (default `high`, always shown with its basis). config.ts has merged input,
 * policy file and default into the options; anything else is a ConfigurationError naming it.
 */
export function unknownSeverityOption(options: Readonly<Record<string, string>>): Severity {
  const value = (options['unknown-severity'] ?? 'high').trim().toLowerCase() || 'high';
  if (!(SEVERITIES as readonly string[]).includes(value)) throw new ConfigurationError(`'${value}' is not one of ${SEVERITIES.join(', ')}`, 'unknown-severity');
  return value as Severity;
}
