import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import {
  normalisePackageName,
  parseJsonReport,
  ReportReader,
  ToolFailureError,
  ToolOutputError,
  unknownSeverityOption,
  WorkspaceBoundary,
  type ExitMeaning,
  type FindingLocation,
  type InventoryItem,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type SkipDecision,
  type ToolAdapter,
  type ToolContext,
  type ToolInvocation
} from '@secgate/core';
import { imageDockerfile } from '../dockerfile-from.js';
import { archiveEntryName, readImageArchive } from '../image.js';
import { readDbSource, readIacPaths, readImageTarget, readScanners, type ImageTarget, type Scanner } from '../options.js';
import { checkDbAge, dbFact, dbPersistentData, isDbUnavailable, planDb, readDbMetadataFile, type DbPlan } from '../trivy-db.js';

/**
 * Trivy 0.74 (https://trivy.dev): vulnerabilities, secrets and misconfigurations in a container
 * image (`image-tar` or `image`), and misconfigurations and secrets in IaC files and Dockerfiles
 * (`trivy fs` of each `iac-paths` entry).
 *
 * Runs, in order (one JSON report each, `mode` tells the parser which):
 * - `image`: `trivy image --input <tar>` or `trivy image <ref>`, `--scanners` per the `scanners` input,
 *   `--image-config-scanners misconfig,secret` (a token in the image config's ENV is a finding),
 *   `--list-all-pkgs` (the SBOM inventory), the vulnerability DB per trivy-db.ts.
 * - `fs`: `trivy fs <path> --scanners misconfig,secret --skip-db-update` per IaC path: no DB is
 *   needed, and none is ever downloaded.
 *
 * Exit codes: `--exit-code 5` (trivy exits 1 on fatal errors, so never 1): 0 nothing left after
 * filters, 5 findings, 1 a fatal error (named: "vulnerability DB unavailable" when trivy could not
 * fetch the DB), anything else an error. `--skip-check-update` keeps misconfiguration scanning on
 * the embedded checks; trivy then logs `ERROR … Falling back to embedded checks` on every offline
 * run, which is expected and not a failure.
 *
 * The repository steers trivy only through `.trivyignore` at the workspace root (its real path
 * inside the workspace; suppressed findings are counted in the summary). Its `trivy.yaml`,
 * `trivy-secret.yaml` and any `TRIVY_*` variables of the runner are neutralised: they could lower
 * severities, skip files or disable rules unseen. secgate's exception ledger is the place for that.
 *
 * Severity: trivy's own words (CRITICAL, HIGH, MEDIUM, LOW); UNKNOWN takes `unknown-severity`
 * (default high), shown as the finding's severity basis.
 *
 * Misconfiguration ids: trivy ≥ 0.69 writes `ID: "DS-0002"` without `AVDID`; earlier versions
 * `ID: "DS002", AVDID: "AVD-DS-0002"`. Both become rule `DS-0002`, the other forms kept as aliases.
 */
export const TRIVY_SEVERITY: Readonly<Record<string, Severity>> = {
  CRITICAL: 'critical',
  HIGH: 'high',
  MEDIUM: 'medium',
  LOW: 'low'
};

const TOOL = 'trivy';
const VERSION = '0.74.0';
/** `--exit-code`: what trivy exits with when findings remain after its filters. */
export const TRIVY_FINDINGS_EXIT = 5;
const TIMEOUT_MS = 30 * 60_000;
const reader = new ReportReader(TOOL);

/** Severity words with UNKNOWN, which maps to `unknown-severity` (null here). */
const SEVERITY_WORDS: Readonly<Record<string, Severity | null>> = { ...TRIVY_SEVERITY, UNKNOWN: null };

/** Result classes of schema 2 (pkg/types/report.go). */
const RESULT_CLASSES: Readonly<Record<string, string>> = {
  'OS-PKGS': 'os-pkgs',
  'LANG-PKGS': 'lang-pkgs',
  CONFIG: 'config',
  SECRET: 'secret',
  LICENSE: 'license',
  'LICENSE-FILE': 'license-file',
  CUSTOM: 'custom'
};

/** Vulnerability status (trivy-db types.Status): whether a fixed version exists. */
type VulnStatus = 'fixed' | 'no-fix' | 'unknown' | 'not-affected';
const VULN_STATUS: Readonly<Record<string, VulnStatus>> = {
  FIXED: 'fixed',
  AFFECTED: 'no-fix',
  WILL_NOT_FIX: 'no-fix',
  FIX_DEFERRED: 'no-fix',
  END_OF_LIFE: 'no-fix',
  UNDER_INVESTIGATION: 'unknown',
  UNKNOWN: 'unknown',
  NOT_AFFECTED: 'not-affected'
};

const MISCONF_STATUS: Readonly<Record<string, 'PASS' | 'FAIL' | 'EXCEPTION'>> = { PASS: 'PASS', FAIL: 'FAIL', EXCEPTION: 'EXCEPTION' };

const MODIFIED_TYPES: Readonly<Record<string, string>> = {
  VULNERABILITY: 'vulnerability',
  MISCONFIGURATION: 'misconfiguration',
  SECRET: 'secret',
  LICENSE: 'license'
};

/**
 * Trivy's target types (fanal TargetType) as OSV ecosystem names; any other type is kept as
 * trivy names it. Language types first, then the OS families.
 */
const ECOSYSTEMS: Readonly<Record<string, string>> = {
  'python-pkg': 'PyPI',
  pip: 'PyPI',
  pipenv: 'PyPI',
  poetry: 'PyPI',
  uv: 'PyPI',
  'conda-pkg': 'conda',
  'node-pkg': 'npm',
  npm: 'npm',
  yarn: 'npm',
  pnpm: 'npm',
  bun: 'npm',
  gomod: 'Go',
  gobinary: 'Go',
  cargo: 'crates.io',
  'rust-binary': 'crates.io',
  composer: 'Packagist',
  'composer-vendor': 'Packagist',
  gemspec: 'RubyGems',
  bundler: 'RubyGems',
  jar: 'Maven',
  pom: 'Maven',
  gradle: 'Maven',
  sbt: 'Maven',
  nuget: 'NuGet',
  'dotnet-core': 'NuGet',
  'packages-props': 'NuGet',
  conan: 'ConanCenter',
  pub: 'Pub',
  hex: 'Hex',
  swift: 'SwiftURL',
  cocoapods: 'CocoaPods',
  julia: 'Julia',
  alpine: 'Alpine',
  debian: 'Debian',
  ubuntu: 'Ubuntu',
  redhat: 'Red Hat',
  centos: 'CentOS',
  rocky: 'Rocky Linux',
  alma: 'AlmaLinux',
  amazon: 'Amazon Linux',
  oracle: 'Oracle Linux',
  photon: 'Photon OS',
  'opensuse.leap': 'openSUSE',
  'opensuse.tumbleweed': 'openSUSE',
  'suse linux enterprise server': 'SUSE',
  wolfi: 'Wolfi',
  chainguard: 'Chainguard',
  azurelinux: 'Azure Linux',
  'cbl-mariner': 'Mariner',
  bottlerocket: 'Bottlerocket',
  echo: 'Echo',
  minimos: 'MinimOS'
};

function ecosystemOf(type: string | undefined, cls: string): string {
  if (type === undefined) return cls;
  return ECOSYSTEMS[type.toLowerCase()] ?? type;
}

// ---------------------------------------------------------------------------------------------
// Report

export interface TrivyParseOptions {
  /** `image` results have no lines: their findings go to `imageLocation`, the in-image place into the message. */
  mode?: 'image' | 'fs';
  unknownSeverity?: Severity;
  /** fs: the scanned path, workspace-relative (`.` the root); trivy's targets are relative to it. */
  scanRoot?: string;
  /** fs: the scanned path is a file (its target is the file's own name). */
  scanRootIsFile?: boolean;
  /** image: the Dockerfile's final FROM line, when a Dockerfile is known. */
  imageLocation?: FindingLocation;
  /** image: what was scanned, for messages (`image-tar app.tar`, `image registry/app:1`). */
  imageLabel?: string;
}

interface Context {
  mode: 'image' | 'fs';
  unknownSeverity: Severity;
  scanRoot: string;
  scanRootIsFile: boolean;
  imageLocation?: FindingLocation;
  imageLabel: string;
  /** The report's ArtifactName (image: the tarball path or reference trivy was given). */
  artifactName?: string;
}

function readSeverity(value: unknown, where: string, ctx: Context): { severity: Severity; basis?: string } {
  const mapped = reader.oneOf(value, where, SEVERITY_WORDS);
  if (mapped !== null) return { severity: mapped };
  return { severity: ctx.unknownSeverity, basis: `unknown → ${ctx.unknownSeverity} (unknown-severity; trivy says UNKNOWN)` };
}

function optionalWord(value: unknown, where: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  return reader.word(value, where);
}

function optionalText(value: unknown, where: string): string | undefined {
  const text = reader.optionalString(value, where);
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

function words(value: unknown, where: string): string[] {
  return value === undefined || value === null ? [] : reader.each(value, where, (item, at) => reader.word(item, at));
}

/** Ends the text with a full stop unless it already ends a sentence. */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function short(text: string, max = 120): string {
  const line = text.split('\n')[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The workspace-relative file a fs result names (its target is relative to the scanned path). */
function fsPath(target: string, ctx: Context, where: string): string {
  if (ctx.scanRootIsFile) return ctx.scanRoot;
  const relative = path.posix.normalize(target.split(path.sep).join('/'));
  // trivy names what it found below the scanned path: an absolute target, or one climbing out of it, is garbled.
  if (path.posix.isAbsolute(relative) || relative === '..' || relative.startsWith('../')) {
    reader.fail(`${where}.Target`, `(${JSON.stringify(target.slice(0, 200))}) is not a path below the scanned ${ctx.scanRoot}`);
  }
  return path.posix.normalize(path.posix.join(ctx.scanRoot, relative)).replace(/^\.\//, '');
}

interface ResultInfo {
  target: string;
  cls: string;
  type?: string;
  where: string;
}

/** Where a finding of this result is annotated, and how the message names the place. */
/**
 * The in-image place a result names, without the runner path trivy puts first (`ArtifactName`, the
 * tarball's absolute path): `(debian 12.0)`, `Python`, `/app/settings.py`; '' for the image config.
 */
function inImageTarget(result: ResultInfo, ctx: Context): string {
  const name = ctx.artifactName;
  return name !== undefined && result.target.startsWith(name) ? result.target.slice(name.length).trim() : result.target;
}

function place(result: ResultInfo, ctx: Context, lines?: { start?: number; end?: number }): { location?: FindingLocation; label: string } {
  if (ctx.mode === 'image') {
    const inImage = inImageTarget(result, ctx);
    const label = inImage === '' ? `${ctx.imageLabel} (image config)` : inImage.startsWith('(') ? `${ctx.imageLabel} ${inImage}` : `${ctx.imageLabel}: ${inImage}`;
    return { location: ctx.imageLocation, label };
  }
  const file = fsPath(result.target, ctx, result.where);
  const location: FindingLocation = { path: file };
  if (lines?.start !== undefined && lines.start > 0) {
    location.startLine = lines.start;
    location.endLine = lines.end !== undefined && lines.end >= lines.start ? lines.end : lines.start;
  }
  return { location, label: file };
}

function fixedVersionsOf(status: VulnStatus | undefined, fixed: string | undefined, where: string): string[] | undefined {
  const listed = (fixed ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (status === 'fixed' && listed.length === 0) reader.fail(`${where}.FixedVersion`, 'is empty while Status says fixed');
  if (listed.length > 0) return listed;
  // No fixed version: a fact when trivy's status says none exists, unknown otherwise.
  return status === 'no-fix' ? [] : undefined;
}

function readVulnerability(item: unknown, where: string, result: ResultInfo, ctx: Context): RawFinding | 'not-affected' {
  const v = reader.object(item, where);
  const id = reader.word(v['VulnerabilityID'], `${where}.VulnerabilityID`);
  const rawName = reader.word(v['PkgName'], `${where}.PkgName`);
  const version = reader.word(v['InstalledVersion'], `${where}.InstalledVersion`);
  const status = v['Status'] === undefined ? undefined : reader.oneOf(v['Status'], `${where}.Status`, VULN_STATUS);
  if (status === 'not-affected') return 'not-affected';
  const fixedVersions = fixedVersionsOf(status, reader.optionalString(v['FixedVersion'], `${where}.FixedVersion`), where);
  const { severity, basis } = readSeverity(v['Severity'], `${where}.Severity`, ctx);
  const vendorIds = words(v['VendorIDs'], `${where}.VendorIDs`);
  const cwe = words(v['CweIDs'], `${where}.CweIDs`);
  const pkgPath = optionalText(v['PkgPath'], `${where}.PkgPath`);
  const title = optionalText(v['Title'], `${where}.Title`);
  const primaryUrl = optionalText(v['PrimaryURL'], `${where}.PrimaryURL`);
  const severitySource = optionalWord(v['SeveritySource'], `${where}.SeveritySource`);
  const layer = v['Layer'] === undefined ? undefined : reader.object(v['Layer'], `${where}.Layer`);
  const diffId = layer ? optionalWord(layer['DiffID'], `${where}.Layer.DiffID`) : undefined;
  const identifier = v['PkgIdentifier'] === undefined ? undefined : reader.object(v['PkgIdentifier'], `${where}.PkgIdentifier`);
  if (identifier) optionalText(identifier['PURL'], `${where}.PkgIdentifier.PURL`);
  const ecosystem = ecosystemOf(result.type, result.cls);
  const name = normalisePackageName(rawName, ecosystem);
  const ids = [...new Set([id, ...vendorIds])];
  const cve = ids.filter((x) => /^CVE-\d+-\d+$/i.test(x));
  const { location, label } = place(result, ctx);
  const fixText =
    fixedVersions === undefined
      ? 'Whether a fixed version exists is not known.'
      : fixedVersions.length === 0
        ? `No fixed version exists (status ${reader.string(v['Status'], `${where}.Status`).toLowerCase()}).`
        : `Fixed in ${fixedVersions.join(', ')}: upgrade ${name} ${version} → ${fixedVersions[0]}.`;
  const inImage = ctx.mode === 'image' ? ` in ${label}${pkgPath ? ` (${pkgPath})` : ''}${diffId ? `, layer ${diffId.slice(0, 19)}` : ''}` : ` in ${label}`;
  return {
    tool: TOOL,
    ruleId: id,
    title: `${name} ${version}: ${id}${title ? ` ${short(title)}` : ''}`,
    message:
      `${name} ${version} (${ecosystem})${inImage} is affected by ${ids.join(', ')}. ` +
      `Severity ${severity}${severitySource ? ` (source ${severitySource})` : ''}. ${fixText}`,
    severity,
    ...(basis ? { severityBasis: basis } : {}),
    confidence: 'high',
    ...(location ? { location } : {}),
    ...(cwe.length > 0 ? { cwe } : {}),
    ...(cve.length > 0 ? { cve } : {}),
    aliases: ids,
    package: { name, version, ecosystem, ...(fixedVersions !== undefined ? { fixedVersions } : {}) },
    ...(primaryUrl ? { helpUri: primaryUrl } : {}),
    tags: ['image', 'vulnerability', result.cls, ...(result.type ? [result.type] : [])],
    identity: `${ecosystem}:${name}@${version}:${id}`
  };
}

/**
 * One rule id for both misconfiguration id forms: `DS-0002` from `ID: "DS-0002"` (trivy ≥ 0.69) and
 * from `ID: "DS002", AVDID: "AVD-DS-0002"` (earlier). Every other form is kept as an alias.
 */
export function misconfigRuleId(id: string, avdId: string | undefined): { ruleId: string; aliases: string[] } {
  const ruleId = (avdId ?? (id.startsWith('AVD-') ? id : undefined))?.replace(/^AVD-/, '') ?? id;
  return { ruleId, aliases: [...new Set([id, avdId ?? `AVD-${ruleId}`, `AVD-${ruleId}`])].filter((a) => a !== ruleId) };
}

interface MisconfCounts {
  passed: number;
  exceptions: number;
}

function readMisconfiguration(item: unknown, where: string, result: ResultInfo, ctx: Context, counts: MisconfCounts): RawFinding | undefined {
  const m = reader.object(item, where);
  const status = reader.oneOf(m['Status'], `${where}.Status`, MISCONF_STATUS);
  const id = reader.word(m['ID'], `${where}.ID`);
  const avdId = optionalWord(m['AVDID'], `${where}.AVDID`);
  const { severity, basis } = readSeverity(m['Severity'], `${where}.Severity`, ctx);
  if (status === 'PASS') counts.passed++;
  if (status === 'EXCEPTION') counts.exceptions++;
  if (status !== 'FAIL') return undefined;
  const { ruleId, aliases } = misconfigRuleId(id, avdId);
  const title = optionalText(m['Title'], `${where}.Title`);
  const message = optionalText(m['Message'], `${where}.Message`);
  const resolution = optionalText(m['Resolution'], `${where}.Resolution`);
  const primaryUrl = optionalText(m['PrimaryURL'], `${where}.PrimaryURL`);
  const checkType = optionalText(m['Type'], `${where}.Type`);
  words(m['References'], `${where}.References`);
  const cause = m['CauseMetadata'] === undefined ? {} : reader.object(m['CauseMetadata'], `${where}.CauseMetadata`);
  const resource = optionalText(cause['Resource'], `${where}.CauseMetadata.Resource`);
  const provider = optionalText(cause['Provider'], `${where}.CauseMetadata.Provider`);
  const startLine = reader.optionalInteger(cause['StartLine'], `${where}.CauseMetadata.StartLine`, 0);
  const endLine = reader.optionalInteger(cause['EndLine'], `${where}.CauseMetadata.EndLine`, 0);
  if (!title && !message) reader.fail(where, 'has neither Title nor Message');
  const { location, label } = place(result, ctx, { start: startLine, end: endLine });
  const what = message ?? title!;
  return {
    tool: TOOL,
    ruleId,
    title: `${ruleId} ${title ?? short(what)}`,
    message: sentence(`${what}${resource ? ` (resource ${resource})` : ''}${ctx.mode === 'image' ? ` — in ${label}` : ''}`) + (resolution ? ` Fix: ${resolution}` : ''),
    severity,
    ...(basis ? { severityBasis: basis } : {}),
    confidence: 'high',
    ...(location ? { location } : {}),
    aliases,
    ...(primaryUrl ? { helpUri: primaryUrl } : {}),
    tags: ['misconfiguration', ...(result.type ? [result.type] : []), ...(provider ? [provider] : []), ...(checkType ? [checkType] : [])],
    // Not the line: a misconfiguration moved by an edit above it is the same finding.
    identity: `misconfig:${ctx.mode === 'image' ? `${inImageTarget(result, ctx)}:` : ''}${resource ?? ''}:${what}`
  };
}

/** Secrets: never the match or the code lines (trivy masks the match, not the lines around it). */
function readSecret(item: unknown, where: string, result: ResultInfo, ctx: Context): RawFinding {
  const s = reader.object(item, where);
  const ruleId = reader.word(s['RuleID'], `${where}.RuleID`);
  const category = reader.word(s['Category'], `${where}.Category`);
  const title = reader.word(s['Title'], `${where}.Title`);
  const { severity, basis } = readSeverity(s['Severity'], `${where}.Severity`, ctx);
  const startLine = reader.integer(s['StartLine'], `${where}.StartLine`, 0);
  const endLine = reader.integer(s['EndLine'], `${where}.EndLine`, 0);
  // Read for shape only: their text is never copied.
  reader.optionalString(s['Match'], `${where}.Match`);
  if (s['Code'] !== undefined) reader.object(s['Code'], `${where}.Code`);
  const layer = s['Layer'] === undefined ? undefined : reader.object(s['Layer'], `${where}.Layer`);
  const diffId = layer ? optionalWord(layer['DiffID'], `${where}.Layer.DiffID`) : undefined;
  const createdBy = layer ? optionalText(layer['CreatedBy'], `${where}.Layer.CreatedBy`) : undefined;
  const { location, label } = place(result, ctx, { start: startLine, end: endLine });
  // A line of the image config is a line of trivy's own serialisation of it: not worth naming.
  const line = startLine > 0 && !(ctx.mode === 'image' && inImageTarget(result, ctx) === '') ? ` line ${startLine}` : '';
  const layerText = diffId ? `, layer ${diffId.slice(0, 19)}` : createdBy ? ', image config' : '';
  return {
    tool: TOOL,
    ruleId,
    title: `${title} (secret)`,
    message: `${title} (${category}) found in ${label}${line}${layerText}. The value is redacted; rotate the secret and remove it from the ${ctx.mode === 'image' ? 'image' : 'file'}.`,
    severity,
    ...(basis ? { severityBasis: basis } : {}),
    confidence: 'high',
    ...(location ? { location } : {}),
    tags: ['secret', category],
    sensitive: true,
    // In an image the annotated line is the FROM line, shared by every image finding: name the in-image place instead.
    ...(ctx.mode === 'image' ? { identity: `secret:${inImageTarget(result, ctx) || 'image config'}:${ruleId}:${startLine}` } : {})
  };
}

function purlType(purl: string | undefined): string | undefined {
  return purl ? /^pkg:([a-z0-9.+-]+)\//i.exec(purl)?.[1] : undefined;
}

function readPackage(item: unknown, where: string, result: ResultInfo): InventoryItem {
  const p = reader.object(item, where);
  const rawName = reader.word(p['Name'], `${where}.Name`);
  const version = optionalText(p['Version'], `${where}.Version`);
  const identifier = p['Identifier'] === undefined ? undefined : reader.object(p['Identifier'], `${where}.Identifier`);
  const purl = identifier ? optionalText(identifier['PURL'], `${where}.Identifier.PURL`) : undefined;
  if (purl !== undefined && purlType(purl) === undefined) reader.fail(`${where}.Identifier.PURL`, `is ${JSON.stringify(purl.slice(0, 60))}, not a package URL`);
  const ecosystem = ecosystemOf(result.type, result.cls);
  return { kind: 'library', name: normalisePackageName(rawName, ecosystem), ...(version ? { version } : {}), ecosystem, ...(purl ? { purl } : {}) };
}

/**
 * Reads trivy's JSON report (schema 2, pkg/types/report.go) strictly: every field used goes through
 * ReportReader, unknown classes, statuses or severity words are ToolOutputErrors. Licence findings
 * (not requested by secgate) are counted as `dropped`; `ExperimentalModifiedFindings`
 * (`--show-suppressed`: what `.trivyignore` suppressed) are counted into `facts`.
 */
export function parseTrivyReport(text: string, options: TrivyParseOptions = {}): ParsedReport {
  const report = reader.object(parseJsonReport(TOOL, text), 'report');
  const schema = reader.integer(report['SchemaVersion'], 'SchemaVersion', 0);
  if (schema !== 2) reader.fail('SchemaVersion', `is ${schema}; secgate reads trivy's schema 2`);
  const artifactType = optionalWord(report['ArtifactType'], 'ArtifactType');
  const artifactName = optionalText(report['ArtifactName'], 'ArtifactName');
  if (report['Trivy'] !== undefined) optionalWord(reader.object(report['Trivy'], 'Trivy')['Version'], 'Trivy.Version');
  const ctx: Context = {
    mode: options.mode ?? (artifactType === 'container_image' ? 'image' : 'fs'),
    unknownSeverity: options.unknownSeverity ?? 'high',
    scanRoot: options.scanRoot ?? '.',
    scanRootIsFile: options.scanRootIsFile ?? false,
    imageLocation: options.imageLocation,
    imageLabel: options.imageLabel ?? `image ${artifactName ?? ''}`.trim(),
    artifactName
  };
  const findings: RawFinding[] = [];
  const inventory: InventoryItem[] = [];
  const warnings: string[] = [];
  const facts: string[] = [];
  const counts: MisconfCounts = { passed: 0, exceptions: 0 };
  const suppressed = new Map<string, number>();
  let licences = 0;
  let notAffected = 0;
  const results = report['Results'] === undefined ? [] : reader.array(report['Results'], 'Results');
  results.forEach((item, index) => {
    const where = `Results[${index}]`;
    const r = reader.object(item, where);
    const result: ResultInfo = {
      target: reader.path(r['Target'], `${where}.Target`),
      cls: reader.oneOf(r['Class'], `${where}.Class`, RESULT_CLASSES),
      type: optionalWord(r['Type'], `${where}.Type`),
      where
    };
    if (ctx.mode === 'fs') fsPath(result.target, ctx, where);
    if (r['Packages'] !== undefined) inventory.push(...reader.each(r['Packages'], `${where}.Packages`, (p, at) => readPackage(p, at, result)));
    if (r['Vulnerabilities'] !== undefined) {
      for (const outcome of reader.each(r['Vulnerabilities'], `${where}.Vulnerabilities`, (v, at) => readVulnerability(v, at, result, ctx))) {
        if (outcome === 'not-affected') notAffected++;
        else findings.push(outcome);
      }
    }
    if (r['MisconfSummary'] !== undefined) {
      const summary = reader.object(r['MisconfSummary'], `${where}.MisconfSummary`);
      reader.optionalInteger(summary['Successes'], `${where}.MisconfSummary.Successes`, 0);
      reader.optionalInteger(summary['Failures'], `${where}.MisconfSummary.Failures`, 0);
    }
    if (r['Misconfigurations'] !== undefined) {
      for (const finding of reader.each(r['Misconfigurations'], `${where}.Misconfigurations`, (m, at) => readMisconfiguration(m, at, result, ctx, counts))) {
        if (finding) findings.push(finding);
      }
    }
    if (r['Secrets'] !== undefined) findings.push(...reader.each(r['Secrets'], `${where}.Secrets`, (s, at) => readSecret(s, at, result, ctx)));
    if (r['Licenses'] !== undefined) licences += reader.array(r['Licenses'], `${where}.Licenses`).length;
    if (r['ExperimentalModifiedFindings'] !== undefined) {
      reader.each(r['ExperimentalModifiedFindings'], `${where}.ExperimentalModifiedFindings`, (m, at) => {
        const modified = reader.object(m, at);
        const type = reader.oneOf(modified['Type'], `${at}.Type`, MODIFIED_TYPES);
        reader.word(modified['Status'], `${at}.Status`);
        const source = optionalText(modified['Source'], `${at}.Source`) ?? 'unknown source';
        reader.object(modified['Finding'], `${at}.Finding`);
        const key = `${path.basename(source)}\u0000${type}`;
        suppressed.set(key, (suppressed.get(key) ?? 0) + 1);
      });
    }
  });
  if (notAffected > 0) warnings.push(`${notAffected} vulnerability record(s) with status not_affected left out`);
  if (licences > 0) warnings.push(`${licences} licence finding(s) left out (secgate does not request trivy's licence scanner)`);
  const bySource = new Map<string, Map<string, number>>();
  for (const [key, count] of suppressed) {
    const [source, type] = key.split('\u0000') as [string, string];
    const types = bySource.get(source) ?? new Map<string, number>();
    types.set(type, count);
    bySource.set(source, types);
  }
  for (const [source, types] of bySource) {
    const total = [...types.values()].reduce((a, b) => a + b, 0);
    facts.push(`${total} finding(s) suppressed by ${source} (${[...types].map(([type, n]) => `${n} ${type}`).join(', ')})`);
  }
  if (counts.exceptions > 0) facts.push(`${counts.exceptions} misconfiguration check(s) excepted by trivy's inline ignores`);
  const dropped = licences + notAffected;
  return { findings, warnings, inventory, facts, ...(dropped > 0 ? { dropped } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Adapter

/** What `parse` needs from the plan, carried in `invocation.data`. */
interface InvocationData {
  mode: 'image' | 'fs';
  scanRoot?: string;
  scanRootIsFile?: boolean;
  imageLocation?: FindingLocation;
  imageLabel?: string;
  db?: DbPlan;
  /** Filled by exitMeaning, for parse: findings after exit 0 contradict `--exit-code`. */
  exit: { code?: number };
}

/** The plan of an invocation made by `command`; undefined for one built elsewhere (tests, fuzzing). */
function dataOf(invocation: ToolInvocation): InvocationData | undefined {
  const data = invocation.data as InvocationData | undefined;
  return data && (data.mode === 'image' || data.mode === 'fs') && typeof data.exit === 'object' ? data : undefined;
}

/** Blanks every `TRIVY_*` variable of the runner (trivy treats an empty variable as unset). */
function neutralEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of Object.keys(process.env)) if (/^TRIVY_/i.test(key)) env[key] = '';
  return env;
}

/** `.trivyignore` at the workspace root, when its real path is inside the workspace. */
async function repositoryIgnoreFile(workspace: string): Promise<string | undefined> {
  const boundary = await WorkspaceBoundary.open(workspace);
  const real = await boundary.realInside(path.join(boundary.workspace, '.trivyignore'));
  if (real === undefined) return undefined;
  const info = await stat(real).catch(() => undefined);
  return info?.isFile() ? real : undefined;
}

async function commonArgs(context: ToolContext, name: string): Promise<{ args: string[]; report: string }> {
  const report = path.join(context.workDir, `trivy-${name}.json`);
  // An empty config: the repository's trivy.yaml (read from the working directory) must not steer the scan.
  const config = path.join(context.workDir, 'trivy-config.yaml');
  await writeFile(config, '# secgate: the repository trivy.yaml is not read\n');
  // trivy refuses an --ignorefile that does not exist: without the repository's, an empty one, so
  // a .trivyignore elsewhere (the working directory is the workspace) is never read.
  let ignore = await repositoryIgnoreFile(context.workspace);
  if (ignore === undefined) {
    ignore = path.join(context.workDir, 'empty-trivyignore');
    await writeFile(ignore, '');
  }
  return {
    report,
    args: [
      '--config', config,
      '--format', 'json',
      '--output', report,
      '--exit-code', String(TRIVY_FINDINGS_EXIT),
      '--severity', 'UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL',
      '--ignorefile', ignore,
      '--show-suppressed',
      // A path that does not exist: trivy's built-in secret rules, not the repository's trivy-secret.yaml.
      '--secret-config', path.join(context.workDir, 'no-trivy-secret.yaml'),
      '--skip-check-update',
      '--skip-version-check',
      '--disable-telemetry',
      '--no-progress',
      '--cache-backend', 'memory',
      '--timeout', `${Math.floor(TIMEOUT_MS / 1000)}s`
    ]
  };
}

function scannerList(scanners: ReadonlySet<Scanner>, allowed: readonly Scanner[]): string {
  return allowed.filter((s) => scanners.has(s)).join(',');
}

function imageLabelOf(target: ImageTarget): string {
  return target.kind === 'tar' ? `image-tar ${target.path}` : `image ${target.ref}`;
}

/** The entries of an OCI image layout trivy reads; anything else in the tar is left out. */
const OCI_LAYOUT_ENTRY = /^(oci-layout|index\.json|blobs\/sha256\/[a-f0-9]{64})$/;

/**
 * `trivy image --input` reads a docker-archive tar but an OCI layout only as a directory: the
 * layout's own files (validated by image.ts before) are unpacked into `dir`.
 */
async function unpackOciLayout(file: string, gzipped: boolean, dir: string): Promise<void> {
  const extract = tarStream.extract();
  const source = createReadStream(file);
  const feeding = gzipped ? pipeline(source, createGunzip(), extract) : pipeline(source, extract);
  for await (const entry of extract) {
    const named = archiveEntryName(entry.header.name);
    if (entry.header.type === 'file' && 'name' in named && OCI_LAYOUT_ENTRY.test(named.name)) {
      const target = path.join(dir, named.name);
      await mkdir(path.dirname(target), { recursive: true });
      await pipeline(entry, createWriteStream(target, { flags: 'wx' }));
    } else {
      entry.resume();
    }
  }
  await feeding;
}

/** The `--input` trivy reads for an image tarball: the tar itself (docker-archive) or an unpacked OCI layout. */
async function imageInput(target: ImageTarget & { kind: 'tar' }, workDir: string): Promise<string> {
  const archive = await readImageArchive(target.absolute);
  if (archive.format === 'docker-archive') return target.absolute;
  const dir = path.join(workDir, 'oci-layout');
  await mkdir(dir, { recursive: true });
  await unpackOciLayout(target.absolute, archive.gzipped, dir);
  return dir;
}

async function imageInvocation(context: ToolContext, target: ImageTarget, scanners: ReadonlySet<Scanner>): Promise<ToolInvocation> {
  const { args, report } = await commonArgs(context, 'image');
  const dockerfile = await imageDockerfile(context);
  const imageLocation: FindingLocation | undefined = dockerfile
    ? { path: dockerfile.path, ...(dockerfile.from ? { startLine: dockerfile.from.line, endLine: dockerfile.from.endLine } : {}) }
    : undefined;
  const db = scanners.has('vuln') ? await planDb(context) : undefined;
  const configScanners = scannerList(scanners, ['misconfig', 'secret']);
  return {
    args: [
      'image',
      ...args,
      '--scanners', scannerList(scanners, ['vuln', 'misconfig', 'secret']),
      ...(configScanners ? ['--image-config-scanners', configScanners] : []),
      '--list-all-pkgs',
      ...(db ? db.args : ['--cache-dir', path.join(context.workDir, 'cache'), '--skip-db-update']),
      ...(target.kind === 'tar' ? ['--input', await imageInput(target, context.workDir)] : [target.ref])
    ],
    env: neutralEnv(),
    reportFile: report,
    mode: 'image',
    data: { mode: 'image', imageLocation, imageLabel: imageLabelOf(target), db, exit: {} } satisfies InvocationData
  };
}

/** Exclude globs as trivy's `--skip-dirs`/`--skip-files` (the engine filters findings by them too). */
function skipArgs(exclude: readonly string[]): string[] {
  const args = ['--skip-dirs', '**/.git'];
  for (const pattern of exclude) {
    const glob = pattern.replace(/\/+$/, '');
    if (glob === '') continue;
    args.push('--skip-dirs', glob, '--skip-files', glob);
  }
  return args;
}

async function fsInvocations(context: ToolContext, scanners: ReadonlySet<Scanner>): Promise<ToolInvocation[]> {
  const fsScanners = scannerList(scanners, ['misconfig', 'secret']);
  if (fsScanners === '') return [];
  const invocations: ToolInvocation[] = [];
  const roots = await readIacPaths(context);
  for (const [index, root] of roots.entries()) {
    const { args, report } = await commonArgs(context, `fs-${index}`);
    const isFile = (await stat(path.join(context.workspace, root))).isFile();
    invocations.push({
      args: ['fs', ...args, '--scanners', fsScanners, '--cache-dir', path.join(context.workDir, 'cache'), '--skip-db-update', ...skipArgs(context.exclude), root],
      env: neutralEnv(),
      reportFile: report,
      mode: 'fs',
      data: { mode: 'fs', scanRoot: root, scanRootIsFile: isFile, exit: {} } satisfies InvocationData
    });
  }
  return invocations;
}

/** Merges the reports of the image and fs runs, facts and dropped counts included. */
function combineReports(reports: ParsedReport[]): ParsedReport {
  const dropped = reports.reduce((sum, r) => sum + (r.dropped ?? 0), 0);
  const unchecked = reports.flatMap((r) => r.unchecked ?? []);
  const facts = [...new Set(reports.flatMap((r) => r.facts ?? []))];
  return {
    findings: reports.flatMap((r) => r.findings),
    warnings: reports.flatMap((r) => r.warnings),
    inventory: reports.flatMap((r) => r.inventory ?? []),
    ...(facts.length > 0 ? { facts } : {}),
    ...(unchecked.length > 0 ? { unchecked } : {}),
    ...(dropped > 0 ? { dropped } : {})
  };
}

export const trivyAdapter: ToolAdapter = {
  id: TOOL,
  displayName: 'Trivy',
  description: 'Vulnerabilities, secrets and misconfigurations in a container image; misconfigurations and secrets in IaC files and Dockerfiles.',
  persistentData(options, now) {
    // Only an image scan for vulnerabilities uses the DB; bad options are reported by the run itself.
    const image = (options['image'] ?? '').trim() !== '' || (options['image-tar'] ?? '').trim() !== '';
    try {
      return image && readScanners(options).has('vuln') ? dbPersistentData(readDbSource({ workspace: '.', options }), now) : [];
    } catch {
      return [];
    }
  },
  install: {
    kind: 'binary',
    tool: TOOL,
    defaultVersion: VERSION,
    asset(version, platform) {
      const suffixes: Record<string, string> = {
        'linux-x64': 'Linux-64bit',
        'linux-arm64': 'Linux-ARM64',
        'darwin-x64': 'macOS-64bit',
        'darwin-arm64': 'macOS-ARM64'
      };
      const suffix = suffixes[platform];
      if (!suffix) return undefined;
      const assetName = `trivy_${version}_${suffix}.tar.gz`;
      return { urlPath: `aquasecurity/trivy/releases/download/v${version}/${assetName}`, assetName, archive: 'tar.gz', executable: 'trivy' };
    }
  },
  defaultTimeoutMs: TIMEOUT_MS,
  severityMap: TRIVY_SEVERITY,
  async skip(context): Promise<SkipDecision | undefined> {
    // Validated here so a bad setting is a ConfigurationError before anything is installed.
    unknownSeverityOption(context.options);
    const scanners = readScanners(context.options);
    const image = await readImageTarget(context);
    await readIacPaths(context);
    if (!image && !scanners.has('misconfig') && !scanners.has('secret')) {
      return { reason: 'no image (image, image-tar) to scan for vulnerabilities, and scanners leave out misconfig and secret', notApplicable: true };
    }
    return undefined;
  },
  async command(_tool, context): Promise<ToolInvocation[]> {
    unknownSeverityOption(context.options);
    const scanners = readScanners(context.options);
    const image = await readImageTarget(context);
    return [...(image ? [await imageInvocation(context, image, scanners)] : []), ...(await fsInvocations(context, scanners))];
  },
  exitMeaning(code, invocation): ExitMeaning {
    const data = dataOf(invocation);
    if (data) data.exit.code = code;
    if (code === 0) return 'clean';
    if (code === TRIVY_FINDINGS_EXIT) return 'findings';
    // 1 is trivy's fatal error; stderrFailure names it (e.g. "vulnerability DB unavailable").
    return 'error';
  },
  stderrFailure(stderr, invocation, exitCode) {
    const data = dataOf(invocation);
    if (exitCode !== 1 || !data) return undefined;
    if (data.mode === 'image' && data.db && isDbUnavailable(stderr)) {
      const source = data.db.source.kind === 'repository' ? ` from ${data.db.source.repository}` : data.db.source.kind === 'dir' ? ` in ${data.db.source.dir}` : '';
      return `vulnerability DB unavailable${source} (trivy exited 1): no vulnerability was checked`;
    }
    return `exited with code 1 (a fatal error, not findings)${data.mode === 'fs' && data.scanRoot ? ` scanning ${data.scanRoot}` : ''}`;
  },
  parse(report, context, invocation) {
    const data = dataOf(invocation);
    if (data?.exit.code === 1) throw new ToolFailureError(TOOL, 'exited with code 1 (a fatal error, not findings)', 1);
    const facts: string[] = [];
    if (data?.mode === 'image' && data.db) {
      // A downloaded DB is checked after the run, from the metadata trivy wrote.
      const metadata = data.db.metadata ?? readDbMetadataFile(data.db.metadataFile);
      const now = new Date();
      checkDbAge(metadata, data.db.maxAgeHours, now, data.db.source.kind === 'dir' ? `trivy-db-dir ${data.db.source.dir}` : data.db.metadataFile);
      facts.push(dbFact(metadata, data.db.source, now));
    }
    const parsed = parseTrivyReport(report, {
      mode: data?.mode,
      unknownSeverity: unknownSeverityOption(context.options),
      scanRoot: data?.scanRoot,
      scanRootIsFile: data?.scanRootIsFile,
      imageLocation: data?.imageLocation,
      imageLabel: data?.imageLabel
    });
    if (data?.exit.code === 0 && parsed.findings.length > 0) {
      throw new ToolOutputError(TOOL, `exit code 0 says nothing was found, but the report has ${parsed.findings.length} finding(s)`);
    }
    // One fs run per iac path: say which run a suppression count belongs to.
    const where = data?.mode === 'fs' && data.scanRoot !== undefined && data.scanRoot !== '.' ? ` (scanning ${data.scanRoot})` : data?.mode === 'image' ? ' (image scan)' : '';
    return { ...parsed, facts: [...facts, ...(parsed.facts ?? []).map((fact) => `${fact}${where}`)] };
  },
  combine: combineReports
};
