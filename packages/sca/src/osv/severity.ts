/**
 * Severity of an OSV record on secgate's scale. pip-audit (and other OSV consumers) report no severity, so it comes
 * from the record itself: the highest CVSS v3.x/v4 vector it carries, else GitHub's reviewed severity word, else the
 * configured `unknown-severity`, always with the basis shown next to it.
 */
import * as cvssModule from 'ae-cvss-calculator';
import { severityFromScore, type Severity } from '@secgate/core';

/** The parts of an OSV record (https://ossf.github.io/osv-schema/) secgate reads. */
export interface OsvRecord {
  id: string;
  aliases?: string[];
  summary?: string;
  details?: string;
  severity?: OsvSeverity[];
  affected?: OsvAffected[];
  database_specific?: Record<string, unknown>;
  withdrawn?: string;
}

export interface OsvSeverity {
  type: string;
  score: string;
}

export interface OsvAffected {
  package?: { name: string; ecosystem: string; purl?: string };
  ranges?: { type: string; events: Record<string, string>[] }[];
  versions?: string[];
  severity?: OsvSeverity[];
}

export interface SeverityVerdict {
  severity: Severity;
  /** Where it came from: `CVSS:3.1 9.8`, `GHSA high`, `unknown → high (unknown-severity)`. */
  basis: string;
}

interface CvssScores {
  base?: number;
}
interface CvssApi {
  fromVector(vector: string): { getVectorName(): string; calculateScores(): CvssScores } | null;
}

// The package is a UMD bundle flagged __esModule: bundlers expose its exports as the namespace, Node's ESM loader
// only as `default`.
const cvss: CvssApi = ('fromVector' in cvssModule ? cvssModule : (cvssModule as unknown as { default: CvssApi }).default) as CvssApi;

/** GitHub's `database_specific.severity` words (GHSA records). */
export const GHSA_SEVERITY: Readonly<Record<string, Severity>> = {
  LOW: 'low',
  MODERATE: 'medium',
  HIGH: 'high',
  CRITICAL: 'critical'
};

const CVSS_TYPES = new Set(['CVSS_V3', 'CVSS_V4']);
const VECTOR_PREFIX = /^CVSS:(3\.0|3\.1|4\.0)\//;

/** Base score of a complete CVSS v3.x/v4 vector, or undefined for anything else (partial, garbled, v2). */
export function cvssBaseScore(vector: string): { version: string; score: number } | undefined {
  const version = VECTOR_PREFIX.exec(vector)?.[1];
  if (!version) return undefined;
  let parsed: ReturnType<CvssApi['fromVector']>;
  try {
    parsed = cvss.fromVector(vector);
  } catch {
    return undefined;
  }
  const score = parsed?.calculateScores().base;
  // A vector missing base metrics parses, with `base` undefined: not a score.
  if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 10) return undefined;
  return { version, score };
}

/**
 * The severity of one OSV record. Every CVSS_V3/CVSS_V4 entry in `severity[]` and `affected[].severity[]` is
 * scored; the highest wins. Without one, GitHub's reviewed severity; without that, `unknownSeverity`, visibly.
 */
export function severityFromOsv(record: OsvRecord, unknownSeverity: Severity): SeverityVerdict {
  const entries = [...(record.severity ?? []), ...(record.affected ?? []).flatMap((a) => a.severity ?? [])];
  let best: { version: string; score: number } | undefined;
  let unreadable = 0;
  for (const entry of entries) {
    if (!CVSS_TYPES.has(entry.type)) continue;
    const scored = typeof entry.score === 'string' ? cvssBaseScore(entry.score) : undefined;
    if (!scored) unreadable += 1;
    else if (!best || scored.score > best.score) best = scored;
  }
  if (best) return { severity: severityFromScore(best.score), basis: `CVSS:${best.version} ${best.score.toFixed(1)}` };
  const note = unreadable > 0 ? `; ${unreadable} unreadable CVSS vector(s) ignored` : '';
  const word = record.database_specific?.['severity'];
  if (typeof word === 'string' && Object.prototype.hasOwnProperty.call(GHSA_SEVERITY, word.toUpperCase())) {
    const severity = GHSA_SEVERITY[word.toUpperCase()]!;
    return { severity, basis: `GHSA ${severity}${note}` };
  }
  const unknownWord = typeof word === 'string' && word !== '' ? `; unrecognised severity word ${JSON.stringify(word.slice(0, 20))}` : '';
  return { severity: unknownSeverity, basis: `unknown → ${unknownSeverity} (unknown-severity)${note}${unknownWord}` };
}

