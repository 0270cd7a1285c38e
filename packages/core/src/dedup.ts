import type { Finding } from './finding.js';
import { severityRank } from './severity.js';

function cweKeys(finding: Finding): string[] {
  return (finding.cwe ?? []).map((c) => c.replace(/^CWE-?/i, '').split(/[^0-9]/)[0]!).filter(Boolean);
}

/**
 * The same problem reported by two tools (bandit B301 and our pickle rule on one line) becomes
 * one finding listing both sources. Same file, same line, a shared CWE and different tools;
 * the more severe report leads.
 */
export function mergeDuplicates(findings: Finding[]): Finding[] {
  const byLine = new Map<string, Finding[]>();
  const result: Finding[] = [];
  for (const finding of findings) {
    const loc = finding.location;
    const cwes = cweKeys(finding);
    if (!loc?.startLine || cwes.length === 0) {
      result.push(finding);
      continue;
    }
    const key = `${loc.path}:${loc.startLine}`;
    const group = byLine.get(key) ?? [];
    const twin = group.find(
      (other) => !other.sources.some((s) => s.tool === finding.tool) && cweKeys(other).some((c) => cwes.includes(c))
    );
    if (!twin) {
      group.push(finding);
      byLine.set(key, group);
      result.push(finding);
      continue;
    }
    const index = result.indexOf(twin);
    const [lead, other] = severityRank(finding.severity) > severityRank(twin.severity) ? [finding, twin] : [twin, finding];
    const sensitive = Boolean(lead.sensitive || other.sensitive);
    const mergedFinding: Finding = {
      ...lead,
      sources: [...lead.sources, ...other.sources],
      cwe: [...new Set([...(lead.cwe ?? []), ...(other.cwe ?? [])])],
      // If either tool saw a secret here, the merged finding must not show the line.
      ...(sensitive ? { sensitive: true, snippet: undefined } : {})
    };
    result[index] = mergedFinding;
    group[group.indexOf(twin)] = mergedFinding;
  }
  return result;
}
