import type { Finding } from './finding.js';
import { normalisePackageName } from './policy/policy.js';
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

/** The more severe report leads; ties keep the earlier one, so the output does not depend on which tool finished first. */
function leadFirst(kept: Finding, incoming: Finding): [Finding, Finding] {
  return severityRank(incoming.severity) > severityRank(kept.severity) ? [incoming, kept] : [kept, incoming];
}

function merge(kept: Finding, incoming: Finding): Finding {
  const [lead, other] = leadFirst(kept, incoming);
  const sensitive = Boolean(lead.sensitive || other.sensitive);
  const cwe = union(lead.cwe, other.cwe);
  return {
    ...lead,
    sources: [...lead.sources, ...other.sources],
    cwe,
    // If either tool saw a secret here, the merged finding must not show the line.
    ...(sensitive ? { sensitive: true, snippet: undefined } : {})
  };
}

/** Both lists without repeats, in order; undefined when both are absent or empty. */
function union(a: readonly string[] | undefined, b: readonly string[] | undefined): string[] | undefined {
  const all = [...new Set([...(a ?? []), ...(b ?? [])])];
  return all.length > 0 ? all : undefined;
}

/**
 * One vulnerability reported by two tools: the more severe report leads (its rule id, message,
 * location and `severityBasis`), and the merged finding knows every alias, CVE and fixed version
 * either tool gave. Fixed versions stay absent only when neither tool said (absent = unknown,
 * `[]` = no fix), so `ignore-unfixed` never hides a finding a tool gave a fix for.
 */
function mergeVulnerability(kept: Finding, incoming: Finding): Finding {
  const merged = merge(withOwnFingerprint(kept), withOwnFingerprint(incoming));
  const [lead, other] = leadFirst(kept, incoming);
  const fixed = lead.package?.fixedVersions === undefined && other.package?.fixedVersions === undefined ? undefined : (union(lead.package?.fixedVersions, other.package?.fixedVersions) ?? []);
  return {
    ...merged,
    aliases: union(lead.aliases, other.aliases),
    cve: union(lead.cve, other.cve),
    tags: union(lead.tags, other.tags),
    package: { ...lead.package!, ...(fixed === undefined ? {} : { fixedVersions: fixed }) }
  };
}

/** The finding with its own fingerprint on its first source (its own report), so the fingerprint survives a merge under another lead. */
function withOwnFingerprint(finding: Finding): Finding {
  const [own, ...rest] = finding.sources;
  if (!own || own.fingerprint !== undefined) return finding;
  return { ...finding, sources: [{ ...own, fingerprint: finding.fingerprint }, ...rest] };
}

/**
 * The package a vulnerability finding is about, as `ecosystem\0name\0version` with the name as
 * its ecosystem compares it; undefined for other findings (no package, or no exact version to
 * compare: an alert about a range may not be about the installed version).
 */
function packageKey(finding: Finding): string | undefined {
  const pkg = finding.package;
  if (!pkg?.version || !pkg.ecosystem) return undefined;
  return `${pkg.ecosystem.toLowerCase()}\u0000${normalisePackageName(pkg.name, pkg.ecosystem)}\u0000${pkg.version.trim()}`;
}

/** Every id the finding is known by (rule id, aliases, CVEs), upper-case. */
function advisoryIds(finding: Finding): string[] {
  return [...new Set([finding.ruleId, ...(finding.aliases ?? []), ...(finding.cve ?? [])].map((id) => id.toUpperCase()))];
}

interface VulnerabilityGroup {
  position: number;
  tools: Set<string>;
  ids: Set<string>;
}

/**
 * Merges vulnerability findings of different tools about one package (ecosystem, normalised name,
 * version) whose alias sets overlap: pip-audit's PYSEC-2021-142 and osv-scanner's
 * GHSA-8q59-q68h-6hv4 for pyyaml 5.3.1 share CVE-2020-14343. Findings of one tool are never
 * merged with each other (one package in two manifests stays two findings), and the k-th report of
 * one tool pairs with the k-th of another. A finding is joined to the first group it overlaps
 * that lacks its tool; groups are not joined to each other. Linear time: groups are indexed by
 * package and id, and each index keeps a per-tool pointer that only moves forward.
 */
function mergeVulnerabilities(findings: Finding[]): Finding[] {
  const index = new Map<string, { groups: VulnerabilityGroup[]; nextFor: Map<string, number> }>();
  const result: Finding[] = [];
  for (const finding of findings) {
    const key = packageKey(finding);
    if (key === undefined) {
      result.push(finding);
      continue;
    }
    const ids = advisoryIds(finding);
    let group: VulnerabilityGroup | undefined;
    for (const id of ids) {
      const entry = index.get(`${key}\u0000${id}`);
      if (!entry) continue;
      let next = entry.nextFor.get(finding.tool) ?? 0;
      while (next < entry.groups.length && entry.groups[next]!.tools.has(finding.tool)) next++;
      entry.nextFor.set(finding.tool, next);
      group = entry.groups[next];
      if (group) break;
    }
    if (group) {
      result[group.position] = mergeVulnerability(result[group.position]!, finding);
      group.tools.add(finding.tool);
    } else {
      group = { position: result.length, tools: new Set([finding.tool]), ids: new Set() };
      result.push(finding);
    }
    for (const id of ids) {
      if (group.ids.has(id)) continue;
      group.ids.add(id);
      const indexKey = `${key}\u0000${id}`;
      const entry = index.get(indexKey);
      if (entry) entry.groups.push(group);
      else index.set(indexKey, { groups: [group], nextFor: new Map() });
    }
  }
  return result;
}

/**
 * The same problem reported by two tools (bandit B301 and our pickle rule on one line) becomes
 * one finding listing all sources: same file, same start line, rules declared equivalent, and
 * different tools — two reports of one tool are two findings (two secrets on one line stay two).
 * On a line with several reports of one class, the k-th report of one tool pairs with the k-th
 * of another (tools list a line's results left to right). The more severe report leads (its
 * fingerprint, rule and message), `sources` lists every tool, and a secret seen by any of them
 * makes the merged finding sensitive. Vulnerabilities of one package reported by several tools
 * under overlapping advisory ids merge too (see mergeVulnerabilities). Runs in time linear in the
 * number of findings.
 */
export function mergeDuplicates(findings: Finding[], equivalences: readonly RuleEquivalence[] = []): Finding[] {
  const vulnerabilitiesMerged = mergeVulnerabilities(findings);
  return equivalences.length === 0 ? vulnerabilitiesMerged : mergeEquivalentRules(vulnerabilitiesMerged, equivalences);
}

function mergeEquivalentRules(findings: Finding[], equivalences: readonly RuleEquivalence[]): Finding[] {
  const classOf = classifier(equivalences);
  const buckets = new Map<string, LineBucket>();
  const result: Finding[] = [];
  for (const finding of findings) {
    const loc = finding.location;
    // A file-level finding (a model file has no lines) pairs by the identity both tools derive from
    // the file (`<sha256>:<operator>`), so two different operators in one file never merge.
    const equivalence = loc && (loc.startLine || finding.identity) ? classOf(finding.tool, finding.ruleId) : undefined;
    if (equivalence === undefined) {
      result.push(finding);
      continue;
    }
    const key = loc!.startLine ? `${equivalence}\u0000${loc!.startLine}\u0000${loc!.path}` : `${equivalence}\u0000\u0000${loc!.path}\u0000${finding.identity}`;
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
