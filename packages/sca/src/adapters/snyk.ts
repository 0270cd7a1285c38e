import * as path from 'node:path';
import {
  ConfigurationError,
  ReportReader,
  ToolFailureError,
  parseJsonReport,
  type ExitMeaning,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter,
  normalisePackageName
} from '@secgate/core';
import { locateDeclaration } from '../manifests.js';

/**
 * Snyk Open Source: the Snyk CLI's `snyk test --json --all-projects` (npm package `snyk`, run as
 * `node node_modules/snyk/dist/cli/index.js`: its wrapper would download a binary). Opt-in: it
 * needs an account (input `snyk-token`, passed only as the SNYK_TOKEN environment variable).
 *
 * Severity: Snyk's own word for the issue, one to one:
 *
 * | Snyk | secgate |
 * |---|---|
 * | critical | critical |
 * | high | high |
 * | medium | medium |
 * | low | low |
 *
 * Any other word is a ToolOutputError, never a default.
 */
export const SNYK_SEVERITY: Readonly<Record<string, Severity>> = { CRITICAL: 'critical', HIGH: 'high', MEDIUM: 'medium', LOW: 'low' };

const TOOL = 'snyk';
const reader = new ReportReader(TOOL);

/** Snyk's `packageManager` → OSV ecosystem. */
const ECOSYSTEMS: Readonly<Record<string, string>> = {
  pip: 'PyPI',
  poetry: 'PyPI',
  pipenv: 'PyPI',
  npm: 'npm',
  yarn: 'npm',
  pnpm: 'npm',
  maven: 'Maven',
  gradle: 'Maven',
  sbt: 'Maven',
  nuget: 'NuGet',
  gomodules: 'Go',
  rubygems: 'RubyGems',
  composer: 'Packagist',
  cargo: 'crates.io'
};


interface SnykProject {
  manifest?: string;
  ecosystem: string;
  findings: RawFinding[];
}

/** One project's result (`snyk test --json` prints one object, or an array with `--all-projects`). */
function readProject(value: unknown, where: string): SnykProject {
  const result = reader.object(value, where);
  if (result['ok'] === false && result['error'] !== undefined) {
    const reason = reader.string(result['error'], `${where}.error`).split('\n')[0]!.slice(0, 300);
    throw new ToolFailureError(TOOL, `the test failed: ${reason} (an error, not 0 vulnerabilities)`);
  }
  if (typeof result['ok'] !== 'boolean') reader.fail(`${where}.ok`, `is ${result['ok'] === undefined ? 'missing' : 'not a boolean'}: not snyk test JSON`);
  const packageManager = reader.word(result['packageManager'], `${where}.packageManager`);
  const ecosystem = ECOSYSTEMS[packageManager] ?? packageManager;
  // Current CLIs name the manifest (displayTargetFile / targetFile) and the project folder (path).
  const target = reader.optionalString(result['displayTargetFile'], `${where}.displayTargetFile`) ?? reader.optionalString(result['targetFile'], `${where}.targetFile`);
  const projectPath = reader.optionalString(result['path'], `${where}.path`);
  const manifest = target === undefined ? undefined : projectPath && path.isAbsolute(target) === false ? path.join(projectPath, target) : target;
  const vulnerabilities = reader.array(result['vulnerabilities'], `${where}.vulnerabilities`);
  if (result['ok'] === true && vulnerabilities.length > 0) reader.fail(`${where}.ok`, `is true with ${vulnerabilities.length} vulnerabilities: garbled`);
  const seen = new Set<string>();
  const findings: RawFinding[] = [];
  vulnerabilities.forEach((item, index) => {
    const at = `${where}.vulnerabilities[${index}]`;
    const vuln = reader.object(item, at);
    const id = reader.word(vuln['id'], `${at}.id`);
    const rawName = reader.word(vuln['packageName'], `${at}.packageName`);
    const name = normalisePackageName(rawName, ecosystem);
    const version = reader.word(vuln['version'], `${at}.version`);
    // Snyk lists a vulnerability once per dependency path (`from`): one finding per package version.
    const key = `${id}\u0000${name}\u0000${version}`;
    if (seen.has(key)) return;
    seen.add(key);
    const title = reader.string(vuln['title'], `${at}.title`);
    const severity = reader.oneOf(vuln['severity'], `${at}.severity`, SNYK_SEVERITY);
    const identifiers = vuln['identifiers'] === undefined ? {} : reader.object(vuln['identifiers'], `${at}.identifiers`);
    const ids = (kind: string): string[] => (identifiers[kind] === undefined ? [] : reader.each(identifiers[kind], `${at}.identifiers.${kind}`, (v, w) => reader.word(v, w)));
    const cve = ids('CVE');
    const ghsa = ids('GHSA');
    const cwe = ids('CWE');
    const fixedIn = vuln['fixedIn'] === undefined ? [] : reader.each(vuln['fixedIn'], `${at}.fixedIn`, (v, w) => reader.word(v, w));
    const cvss = reader.optionalString(vuln['CVSSv3'], `${at}.CVSSv3`);
    const aliases = [...new Set([id, ...cve, ...ghsa])].sort();
    const upgrade = fixedIn.length > 0 ? `upgrade ${name} to ${fixedIn[0]}` : 'no fixed version is known';
    findings.push({
      tool: TOOL,
      ruleId: id,
      title: `${name} ${version}: ${id} ${title}`,
      message: `${name} ${version} (${ecosystem}) is affected by ${aliases.join(', ')} (severity ${severity}, Snyk${cvss ? `; ${cvss}` : ''}). Fixed in: ${fixedIn.length > 0 ? fixedIn.join(', ') : 'no fixed version known'}; ${upgrade}.`,
      severity,
      cwe: cwe.length > 0 ? cwe : undefined,
      cve: cve.length > 0 ? cve : undefined,
      aliases,
      package: { name, version, ecosystem, fixedVersions: fixedIn },
      helpUri: `https://security.snyk.io/vuln/${encodeURIComponent(id)}`,
      identity: `${ecosystem}:${name}@${version}:${aliases[0]}`,
      tags: ['dependency', ecosystem]
    });
  });
  return { manifest, ecosystem, findings };
}

/** The projects of a `snyk test --json` report, strictly read. An error object is a ToolFailureError. */
export function readSnykReport(text: string): SnykProject[] {
  const parsed = parseJsonReport(TOOL, text);
  return Array.isArray(parsed) ? reader.each(parsed, 'results', readProject) : [readProject(parsed, 'result')];
}

/**
 * Reads `snyk test --json`; each finding is placed on the manifest line that declares its package
 * (`locateDeclaration`), else on the manifest Snyk names (workspace-relative).
 * Paths outside the workspace are left to the engine, which drops them with a warning.
 */
export function parseSnykReport(text: string, workspace: string | undefined): ParsedReport {
  const findings: RawFinding[] = [];
  for (const project of readSnykReport(text)) {
    const manifest = project.manifest && workspace ? path.relative(workspace, path.resolve(workspace, project.manifest)).split(path.sep).join('/') : project.manifest;
    for (const finding of project.findings) {
      if (!manifest) {
        findings.push(finding);
        continue;
      }
      let location = { path: manifest } as RawFinding['location'];
      try {
        // The line that declares the package (requirements, pyproject, lockfiles), when readable.
        if (workspace) location = locateDeclaration(workspace, [manifest], project.ecosystem, finding.package!.name) ?? location;
      } catch {
        // An unreadable manifest: the path alone.
      }
      findings.push({ ...finding, location });
    }
  }
  return { findings, warnings: [] };
}

export const snykAdapter: ToolAdapter = {
  id: TOOL,
  displayName: 'Snyk',
  description: 'Known-vulnerable dependencies from the Snyk database (snyk test). Opt-in; needs snyk-token.',
  install: { kind: 'npm', tool: TOOL, package: 'snyk', defaultVersion: '1.1307.4', entry: 'snyk/dist/cli/index.js' },
  defaultTimeoutMs: 15 * 60_000,
  severityMap: SNYK_SEVERITY,
  command(_tool, context) {
    const token = context.options['snyk-token'];
    if (!token) throw new ConfigurationError('the snyk tool needs a Snyk API token (input `snyk-token`, a secret; CLI: SNYK_TOKEN)', 'snyk-token');
    return {
      args: ['test', '--json', '--all-projects', ...context.targets.filter((t) => t !== '.').slice(0, 1)],
      // Only the environment carries the token: never argv (visible in ps) or a file.
      env: { SNYK_TOKEN: token, SNYK_DISABLE_ANALYTICS: '1', SNYK_CFG_DISABLE_ANALYTICS: '1' }
    };
  },
  exitMeaning(code): ExitMeaning {
    // snyk test: 0 no vulnerabilities, 1 vulnerabilities, 2 failure, 3 no supported projects.
    // A failure prints its reason as JSON (`{"ok": false, "error": …}`) on stdout: 2 is read so
    // the error names it (parse throws ToolFailureError); it can never read as findings or clean.
    return code === 0 || code === 1 ? (code === 0 ? 'clean' : 'findings') : code === 2 ? 'findings' : 'error';
  },
  parse: (report, context) => parseSnykReport(report, context.workspace)
};
