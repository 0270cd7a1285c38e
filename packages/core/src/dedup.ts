import type { Finding } from './finding.js';
import { severityRank } from './severity.js';

/**
 * Rules of different tools that report the same problem. Declared by the stage (see
 * `StageDefinition.equivalentRules`), never inferred: a shared CWE is not enough (B607 and our
 * LLM-output rule share CWE-78 but say different things; B506 and our yaml rule share none).
 */
export interface RuleEquivalence {
  /** What the rules report, for docs and tests (e.g. `unsafe yaml.load`). */
  name: string;
  /**
   * `tool:rule`. A rule id also matches ids that end in `.<rule>` (semgrep prefixes rule ids with
   * the config's path: `rules.ml.secgate.ml.torch-load-unsafe`); `tool:*` is any rule of the tool.
   */
  rules: readonly string[];
}

interface Group {
  /** Index of the group's finding in the merged output. */
  position: number;
  tools: Set<string>;
}

interface LineBucket {
  groups: Group[];
  /**
   * Per tool, the first group that may still lack it: groups only gain tools, so every group
   * before the pointer already has the tool and the search never moves back (amortised O(1)).
   */
  nextFor: Map<string, number>;
}

/** Maps `tool` + `ruleId` to the index of its equivalence class, memoised per distinct pair. */
function classifier(equivalences: readonly RuleEquivalence[]): (tool: string, ruleId: string) => number | undefined {
  const declared = new Map<string, number>();
  equivalences.forEach((equivalence, index) => {
    for (const rule of equivalence.rules) {
      const colon = rule.indexOf(':');
      if (colon <= 0 || colon === rule.length - 1) throw new Error(`rule equivalence '${equivalence.name}': '${rule}' is not tool:rule`);
      const key = `${rule.slice(0, colon)}\u0000${rule.slice(colon + 1)}`;
      const other = declared.get(key);
      if (other !== undefined && other !== index) {
        throw new Error(`rule '${rule}' is in two equivalences ('${equivalences[other]!.name}', '${equivalence.name}')`);
      }
      declared.set(key, index);
    }
  });
  const memo = new Map<string, number | undefined>();
  return (tool, ruleId) => {
    const memoKey = `${tool}\u0000${ruleId}`;
    if (memo.has(memoKey)) return memo.get(memoKey);
    let found = declared.get(memoKey);
    for (let dot = ruleId.indexOf('.'); found === undefined && dot >= 0; dot = ruleId.indexOf('.', dot + 1)) {
      found = declared.get(`${tool}\u0000${ruleId.slice(dot + 1)}`);
    }
    found ??= declared.get(`${tool}\u0000*`);
    memo.set(memoKey, found);
    return found;
  };
}

function merge(kept: Finding, incoming: Finding): Finding {
  // Ties keep the earlier report as lead, so the output does not depend on which tool finished first.
  const [lead, other] = severityRank(incoming.severity) > severityRank(kept.severity) ? [incoming, kept] : [kept, incoming];
  const sensitive = Boolean(lead.sensitive || other.sensitive);
  const cwe = [...new Set([...(lead.cwe ?? []), ...(other.cwe ?? [])])];
  return {
    ...lead,
    sources: [...lead.sources, ...other.sources],
    cwe: cwe.length > 0 ? cwe : undefined,
    // If either tool saw a secret here, the merged finding must not show the line.
    ...(sensitive ? { sensitive: true, snippet: undefined } : {})
  };
}

/**
 * The same problem reported by two tools (bandit B301 and our pickle rule on one line) becomes
 * one finding listing all sources: same file, same start line, rules declared equivalent, and
 * different tools — two reports of one tool are two findings (two secrets on one line stay two).
 * On a line with several reports of one class, the k-th report of one tool pairs with the k-th
 * of another (tools list a line's results left to right). The more severe report leads (its
 * fingerprint, rule and message), `sources` lists every tool, and a secret seen by any of them
 * makes the merged finding sensitive. Runs in time linear in the number of findings.
 */
export function mergeDuplicates(findings: Finding[], equivalences: readonly RuleEquivalence[] = []): Finding[] {
  if (equivalences.length === 0) return findings;
  const classOf = classifier(equivalences);
  const buckets = new Map<string, LineBucket>();
  const result: Finding[] = [];
  for (const finding of findings) {
    const loc = finding.location;
    const equivalence = loc?.startLine ? classOf(finding.tool, finding.ruleId) : undefined;
    if (equivalence === undefined) {
      result.push(finding);
      continue;
    }
    const key = `${equivalence}\u0000${loc!.startLine}\u0000${loc!.path}`;
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = { groups: [], nextFor: new Map() };
      buckets.set(key, bucket);
    }
    let next = bucket.nextFor.get(finding.tool) ?? 0;
    while (next < bucket.groups.length && bucket.groups[next]!.tools.has(finding.tool)) next++;
    const group = bucket.groups[next];
    if (group) {
      result[group.position] = merge(result[group.position]!, finding);
      group.tools.add(finding.tool);
    } else {
      bucket.groups.push({ position: result.length, tools: new Set([finding.tool]) });
      result.push(finding);
    }
    bucket.nextFor.set(finding.tool, next + 1);
  }
  return result;
}
