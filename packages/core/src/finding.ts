import type { Severity } from './severity.js';

export type Confidence = 'high' | 'medium' | 'low';

/** A place in the scanned tree. Lines and columns are 1-based; `path` is relative to the workspace, with `/`. */
export interface FindingLocation {
  path: string;
  startLine?: number;
  endLine?: number;
  startColumn?: number;
  endColumn?: number;
}

export interface PackageRef {
  name: string;
  version?: string;
  ecosystem?: string;
  fixedVersions?: string[];
}

/** What a parser produces: one tool's view of one problem, before the engine adds identity and policy state. */
export interface RawFinding {
  tool: string;
  ruleId: string;
  title: string;
  message: string;
  severity: Severity;
  /**
   * Where the severity came from when the tool gives none of its own (e.g. `CVSS:3.1 9.8`,
   * `GHSA moderate`, `unknown: unknown-severity high`). Shown, so an assumed severity is never silent.
   */
  severityBasis?: string;
  confidence?: Confidence;
  location?: FindingLocation;
  cwe?: string[];
  cve?: string[];
  aliases?: string[];
  package?: PackageRef;
  helpUri?: string;
  tags?: string[];
  /**
   * Text that identifies the finding independently of its line (e.g. a package@version or a
   * secret's hash). When absent the engine uses the normalised source lines at the location.
   */
  identity?: string;
  /** The finding carries a secret: no source text of it may be shown anywhere. */
  sensitive?: boolean;
  /**
   * Found in a commit of the change itself (history scans): part of the change even where the
   * final diff no longer shows it, e.g. a secret added and deleted again within the PR.
   */
  inChange?: boolean;
}

/** Another tool that reported the same problem (the finding was de-duplicated into one). */
export interface FindingSource {
  tool: string;
  ruleId: string;
  /**
   * The fingerprint of this source's own report, kept when vulnerabilities of several tools merge:
   * the merged finding takes its lead's fingerprint, and the lead may differ from run to run (a
   * tool not run, a severity changed), so a baseline or fingerprint exception written under another
   * lead must still match.
   */
  fingerprint?: string;
}

export interface Finding extends RawFinding {
  /** Stable across line shifts: rule + path + normalised snippet/package, plus an ordinal for repeats. */
  fingerprint: string;
  /** Trimmed source line(s) at the location, for display; never set for sensitive findings. */
  snippet?: string;
  /** Every tool/rule that reported it, the finding's own first. */
  sources: FindingSource[];
}

/** Why a finding does not count against the gate. */
export type FindingState =
  | { kind: 'active' }
  | { kind: 'suppressed'; reason: string; owner?: string; expires?: string; entry: number }
  | { kind: 'baseline' }
  | { kind: 'outside-changed-lines' }
  /** `ignore-unfixed`: a vulnerability no released version fixes. Shown and counted, never blocking. */
  | { kind: 'unfixed' };

export interface EvaluatedFinding extends Finding {
  state: FindingState;
  /** Not in the baseline (or no baseline in use). */
  isNew: boolean;
  /** Meets `report-severity`: shown in annotations, summary and SARIF. */
  reported: boolean;
}
