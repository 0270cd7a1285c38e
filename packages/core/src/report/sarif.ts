import type * as Sarif from 'sarif';
import { gzipSync } from 'node:zlib';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ScanResult, ToolRun } from '../engine.js';
import type { EvaluatedFinding } from '../finding.js';
import { SECURITY_SEVERITY } from '../severity.js';

export const SARIF_MAX_RESULTS_PER_RUN = 25_000;
export const SARIF_MAX_GZIP_BYTES = 10 * 1024 * 1024;
export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const FINGERPRINT_KEY = 'secgateFingerprint/v1';
const SRCROOT = '%SRCROOT%';

const LEVEL = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' } as const;

export interface SarifBuild {
  log: Sarif.Log;
  /** Results left out to stay within GitHub's per-run and size limits. */
  dropped: number;
  /**
   * Reported findings without a file (none in sast; e.g. a finding about a whole image): GitHub
   * rejects an upload with any result lacking a location, so they are only in the JSON report,
   * summary and gate, and counted here to be shown.
   */
  unlocated: number;
  text: string;
}

function ruleFor(finding: EvaluatedFinding): Sarif.ReportingDescriptor {
  const tags = ['security', ...(finding.tags ?? [])];
  for (const cwe of finding.cwe ?? []) {
    const id = /CWE-?(\d+)/i.exec(cwe)?.[1];
    if (id) tags.push(`external/cwe/cwe-${id}`);
  }
  // No `name`: it would repeat the id, and SARIF wants `name` omitted rather than equal to `id` (SARIF1001).
  return {
    id: finding.ruleId,
    shortDescription: { text: finding.title },
    fullDescription: { text: finding.title },
    help: { text: `${finding.message}${finding.helpUri ? `\n${finding.helpUri}` : ''}` },
    ...(finding.helpUri ? { helpUri: finding.helpUri } : {}),
    defaultConfiguration: { level: LEVEL[finding.severity] },
    properties: {
      tags: [...new Set(tags)].slice(0, 20),
      'security-severity': SECURITY_SEVERITY[finding.severity],
      ...(finding.confidence ? { precision: finding.confidence === 'high' ? 'high' : finding.confidence === 'medium' ? 'medium' : 'low' } : {})
    }
  };
}

function resultFor(finding: EvaluatedFinding, ruleIndex: number): Sarif.Result {
  const loc = finding.location;
  const result: Sarif.Result = {
    ruleId: finding.ruleId,
    ruleIndex,
    level: LEVEL[finding.severity],
    message: { text: finding.message || finding.title },
    partialFingerprints: { [FINGERPRINT_KEY]: finding.fingerprint },
    baselineState: finding.isNew ? 'new' : 'unchanged',
    properties: {
      severity: finding.severity,
      state: finding.state.kind,
      sources: finding.sources.map((s) => `${s.tool}:${s.ruleId}`),
      ...(finding.cve?.length ? { cve: finding.cve } : {}),
      ...(finding.package ? { package: finding.package } : {})
    }
  };
  if (loc) {
    // GitHub needs a line for every location (GH1003): a finding about a whole file points at its first line.
    const region: Sarif.Region = { startLine: 1 };
    if (loc.startLine) {
      region.startLine = loc.startLine;
      if (loc.endLine && loc.endLine >= loc.startLine) region.endLine = loc.endLine;
      if (loc.startColumn) region.startColumn = loc.startColumn;
      if (loc.endColumn && (loc.endLine ?? loc.startLine) === loc.startLine && loc.startColumn && loc.endColumn > loc.startColumn) {
        region.endColumn = loc.endColumn;
      }
      if (finding.snippet) region.snippet = { text: finding.snippet };
    }
    result.locations = [
      {
        physicalLocation: {
          artifactLocation: { uri: loc.path.split('/').map(encodeURIComponent).join('/'), uriBaseId: SRCROOT },
          region
        }
      }
    ];
  }
  if (finding.state.kind === 'suppressed') {
    result.suppressions = [
      { kind: 'external', status: 'accepted', justification: `${finding.state.reason} (owner ${finding.state.owner}, expires ${finding.state.expires})` }
    ];
  }
  return result;
}

/**
 * The base of every artifact URI: the workspace as an absolute `file:` URI ending in `/` (SARIF
 * §3.14.14 wants a top-level base to be absolute, SARIF1004), as GitHub's own tools write it.
 */
export function sourceRootUri(workspace: string): string {
  const uri = pathToFileURL(path.resolve(workspace)).href;
  return uri.endsWith('/') ? uri : `${uri}/`;
}

function runFor(run: ToolRun, findings: EvaluatedFinding[], limit: number, srcRoot: string): { run: Sarif.Run; dropped: number } {
  const kept = findings.slice(0, limit);
  const rules: Sarif.ReportingDescriptor[] = [];
  const ruleIndex = new Map<string, number>();
  const results = kept.map((finding) => {
    let index = ruleIndex.get(finding.ruleId);
    if (index === undefined) {
      index = rules.length;
      rules.push(ruleFor(finding));
      ruleIndex.set(finding.ruleId, index);
    }
    return resultFor(finding, index);
  });
  return {
    run: {
      tool: {
        driver: {
          name: run.displayName,
          ...(run.version ? { version: run.version, semanticVersion: /^\d+\.\d+\.\d+/.test(run.version) ? run.version : undefined } : {}),
          informationUri: 'https://github.com/secgate/secgate',
          rules
        }
      },
      automationDetails: { id: `secgate/${run.stage}/${run.tool}/` },
      originalUriBaseIds: { [SRCROOT]: { uri: srcRoot } },
      results,
      properties: { 'secgate-dropped-results': findings.length - kept.length, 'secgate-status': run.status }
    },
    dropped: findings.length - kept.length
  };
}

/**
 * One run per tool with a unique automation id (GitHub rejects uploads whose runs share tool and
 * category). Findings below `report-severity` are left out; the rest within 25,000 per run and
 * 10 MB gzipped — lowest-ranked results go first when cutting.
 */
export function buildSarif(result: ScanResult): SarifBuild {
  const reported = result.findings.filter((f) => f.reported && f.location);
  const unlocated = result.findings.filter((f) => f.reported && !f.location).length;
  const srcRoot = sourceRootUri(result.workspace);
  let limit = SARIF_MAX_RESULTS_PER_RUN;
  for (;;) {
    let dropped = 0;
    const runs = result.tools
      .filter((run) => run.status === 'ok')
      .map((run) => {
        const built = runFor(run, reported.filter((f) => f.tool === run.tool), limit, srcRoot);
        dropped += built.dropped;
        return built.run;
      });
    const log: Sarif.Log = { version: '2.1.0', $schema: SARIF_SCHEMA, runs };
    const text = JSON.stringify(log);
    if (gzipSync(text).length <= SARIF_MAX_GZIP_BYTES || limit <= 1) return { log, dropped, unlocated, text };
    limit = Math.floor(Math.min(limit, Math.max(...runs.map((r) => r.results?.length ?? 0))) / 2);
  }
}
