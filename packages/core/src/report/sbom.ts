// Sub-path imports: the package root also loads its schema resources through `__dirname`,
// which does not exist in the ESM bundles (every action failed at start-up).
import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import * as Serialize from '@cyclonedx/cyclonedx-library/Serialize';
import * as Spec from '@cyclonedx/cyclonedx-library/Spec';
import { PackageURL } from 'packageurl-js';
import { randomUUID } from 'node:crypto';
import type { InventoryEntry, ScanResult } from '../engine.js';
import type { EvaluatedFinding } from '../finding.js';

/** OSV ecosystem names → purl types (https://github.com/package-url/purl-spec). */
const PURL_TYPES: Readonly<Record<string, string>> = {
  PyPI: 'pypi',
  npm: 'npm',
  Go: 'golang',
  'crates.io': 'cargo',
  Maven: 'maven',
  NuGet: 'nuget',
  RubyGems: 'gem',
  Packagist: 'composer'
};

const CDX_SEVERITY: Readonly<Record<string, Enums.Vulnerability.Severity>> = {
  critical: Enums.Vulnerability.Severity.Critical,
  high: Enums.Vulnerability.Severity.High,
  medium: Enums.Vulnerability.Severity.Medium,
  low: Enums.Vulnerability.Severity.Low,
  info: Enums.Vulnerability.Severity.Info
};

export interface SbomOptions {
  /** Defaults to now; fixed in tests. */
  timestamp?: Date;
  /** Defaults to a random `urn:uuid:`. */
  serialNumber?: string;
}

/**
 * A purl for a package, or undefined for an ecosystem without a purl type. npm scopes become
 * the namespace (`pkg:npm/%40scope/name@1.0.0`); PyPI names are already PEP 503-normalised.
 */
export function packageUrl(ecosystem: string | undefined, name: string, version: string | undefined): string | undefined {
  const type = ecosystem ? PURL_TYPES[ecosystem] : undefined;
  if (!type || !name) return undefined;
  const slash = type === 'npm' && name.startsWith('@') ? name.indexOf('/') : -1;
  const namespace = slash > 0 ? name.slice(0, slash) : undefined;
  return new PackageURL(type, namespace, slash > 0 ? name.slice(slash + 1) : name, version || undefined, undefined, undefined).toString();
}

/**
 * The CycloneDX 1.6 BOM of a scan: every dependency the tools saw (libraries with purls), every
 * model file (`machine-learning-model`, SHA-256, each scanner's verdict), and the vulnerability
 * findings with `affects` pointing at their component.
 */
export function buildSbom(result: ScanResult, options: SbomOptions = {}): string {
  const bom = new Models.Bom({ serialNumber: options.serialNumber ?? `urn:uuid:${randomUUID()}` });
  bom.metadata.timestamp = options.timestamp ?? new Date();
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, 'secgate', { group: 'secgate' }));
  const components = new Map<string, Models.Component>();
  for (const item of result.inventory ?? []) {
    const component = item.kind === 'machine-learning-model' ? modelComponent(item) : libraryComponent(item);
    if (!components.has(component.bomRef.value!)) {
      components.set(component.bomRef.value!, component);
      bom.components.add(component);
    }
  }
  for (const finding of result.findings) {
    const pkg = finding.package;
    if (!pkg || !finding.tags?.includes('dependency')) continue;
    const ref = packageUrl(pkg.ecosystem, pkg.name, pkg.version) ?? `package:${pkg.ecosystem ?? ''}:${pkg.name}@${pkg.version ?? ''}`;
    let component = components.get(ref);
    if (!component) {
      // A tool that reports vulnerabilities without an inventory (e.g. an API): the package still belongs in the BOM.
      component = libraryComponent({ kind: 'library', name: pkg.name, version: pkg.version, ecosystem: pkg.ecosystem, tools: [finding.tool] });
      components.set(ref, component);
      bom.components.add(component);
    }
    bom.vulnerabilities.add(vulnerability(finding, component));
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}

function libraryComponent(item: InventoryEntry): Models.Component {
  // Parsed and re-written: a malformed purl from a tool throws here rather than reaching the BOM.
  const purl = item.purl ? PackageURL.fromString(item.purl).toString() : packageUrl(item.ecosystem, item.name, item.version);
  // npm scopes are the component's group, as in the purl's namespace.
  const scoped = item.ecosystem === 'npm' && item.name.startsWith('@') && item.name.includes('/');
  const component = new Models.Component(Enums.ComponentType.Library, scoped ? item.name.slice(item.name.indexOf('/') + 1) : item.name, {
    group: scoped ? item.name.slice(0, item.name.indexOf('/')) : undefined,
    version: item.version,
    purl,
    bomRef: purl ?? `package:${item.ecosystem ?? ''}:${item.name}@${item.version ?? ''}`
  });
  if (item.ecosystem) component.properties.add(new Models.Property('secgate:ecosystem', item.ecosystem));
  if (item.path) component.properties.add(new Models.Property('secgate:manifest', item.path));
  for (const tool of item.tools) component.properties.add(new Models.Property('secgate:seen-by', tool));
  return component;
}

function modelComponent(item: InventoryEntry): Models.Component {
  const where = item.path ?? item.name;
  const component = new Models.Component(Enums.ComponentType.MachineLearningModel, where, { bomRef: `model:${where}` });
  if (item.sha256 && /^[0-9a-f]{64}$/.test(item.sha256)) component.hashes.set(Enums.HashAlgorithm['SHA-256'], item.sha256);
  component.properties.add(new Models.Property('secgate:model-scan-verdict', item.verdict ?? 'not-scanned'));
  for (const [tool, verdict] of Object.entries(item.verdicts ?? {})) {
    component.properties.add(new Models.Property(`secgate:model-scan-verdict:${tool}`, verdict));
  }
  return component;
}

function vulnerability(finding: EvaluatedFinding, component: Models.Component): Models.Vulnerability.Vulnerability {
  const vuln = new Models.Vulnerability.Vulnerability({
    bomRef: `vuln:${finding.fingerprint}`,
    id: finding.ruleId,
    description: finding.title,
    detail: finding.message,
    source: finding.helpUri ? new Models.Vulnerability.Source({ name: 'OSV', url: finding.helpUri }) : undefined,
    recommendation: recommendation(finding)
  });
  vuln.ratings.add(
    new Models.Vulnerability.Rating({
      severity: CDX_SEVERITY[finding.severity],
      method: Enums.Vulnerability.RatingMethod.Other,
      justification: finding.severityBasis ? `secgate severity from ${finding.severityBasis}` : 'severity given by the tool'
    })
  );
  for (const alias of finding.aliases ?? []) {
    if (alias === finding.ruleId) continue;
    vuln.references.add(
      new Models.Vulnerability.Reference(alias, new Models.Vulnerability.Source({ name: 'OSV', url: `https://osv.dev/vulnerability/${encodeURIComponent(alias)}` }))
    );
  }
  for (const source of finding.sources) vuln.properties.add(new Models.Property('secgate:reported-by', `${source.tool}:${source.ruleId}`));
  vuln.properties.add(new Models.Property('secgate:state', finding.state.kind));
  vuln.affects.add(
    new Models.Vulnerability.Affect(component.bomRef, {
      versions: component.version ? new Models.Vulnerability.AffectedVersionRepository([new Models.Vulnerability.AffectedSingleVersion(component.version, { status: Enums.Vulnerability.AffectStatus.Affected })]) : undefined
    })
  );
  return vuln;
}

function recommendation(finding: EvaluatedFinding): string | undefined {
  const fixed = finding.package?.fixedVersions ?? [];
  if (fixed.length === 0) return undefined;
  return `upgrade ${finding.package!.name} to ${fixed.join(' or ')}`;
}
