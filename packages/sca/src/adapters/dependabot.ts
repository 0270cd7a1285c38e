// The one adapter that talks to GitHub itself: Dependabot alerts are an API, not a process, and
// @actions/github's Octokit (with its paginate plugin) is the supported client for it.
import { getOctokit } from '@actions/github';
import {
  ConfigurationError,
  ReportReader,
  ToolFailureError,
  ToolOutputError,
  type FindingLocation,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter,
  type ToolContext,
  normalisePackageName
} from '@secgate/core';
import { locateDeclaration } from '../manifests.js';

/**
 * Dependabot alerts: the repository's OPEN alerts (default branch, as GitHub computed them), read
 * with `GET /repos/{owner}/{repo}/dependabot/alerts?state=open` (REST API 2022-11-28), every page.
 *
 * Severity: the advisory's GitHub severity (`security_advisory.severity`), one to one:
 *
 * | GitHub | secgate |
 * |---|---|
 * | critical | critical |
 * | high | high |
 * | medium | medium |
 * | low | low |
 *
 * Any other word is a ToolOutputError, never a default.
 */
export const DEPENDABOT_SEVERITY: Readonly<Record<string, Severity>> = { CRITICAL: 'critical', HIGH: 'high', MEDIUM: 'medium', LOW: 'low' };

const TOOL = 'dependabot';
const reader = new ReportReader(TOOL);
/** More open alerts than this is not a repository we can gate on page by page; it is an error, not a cut. */
export const MAX_DEPENDABOT_ALERTS = 10_000;
const API_VERSION = '2022-11-28';

/** Dependabot's ecosystem words → OSV ecosystem names (what the rest of the stage uses). */
const ECOSYSTEMS: Readonly<Record<string, string>> = {
  pip: 'PyPI',
  npm: 'npm',
  maven: 'Maven',
  nuget: 'NuGet',
  go: 'Go',
  rubygems: 'RubyGems',
  composer: 'Packagist',
  rust: 'crates.io',
  pub: 'Pub',
  erlang: 'Hex',
  actions: 'GitHub Actions',
  swift: 'SwiftURL'
};

/** PEP 503 name normalisation (`PyYAML` → `pyyaml`, `scikit_learn` → `scikit-learn`). */

const ID = /^(GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}|CVE-\d{4}-\d{4,})$/;

/** One alert as a finding; `locate` gives the manifest line that declares the package, when known. */
function readAlert(item: unknown, where: string): { finding: RawFinding; manifest: string; ecosystem: string; name: string } {
  const alert = reader.object(item, where);
  const number = reader.integer(alert['number'], `${where}.number`, 1);
  const state = reader.word(alert['state'], `${where}.state`);
  if (state !== 'open') reader.fail(`${where}.state`, `is ${JSON.stringify(state.slice(0, 20))} in an answer to state=open`);
  const dependency = reader.object(alert['dependency'], `${where}.dependency`);
  const pkg = reader.object(dependency['package'], `${where}.dependency.package`);
  const rawEcosystem = reader.word(pkg['ecosystem'], `${where}.dependency.package.ecosystem`);
  const ecosystem = ECOSYSTEMS[rawEcosystem] ?? rawEcosystem;
  const rawName = reader.word(pkg['name'], `${where}.dependency.package.name`);
  const name = normalisePackageName(rawName, ecosystem);
  const manifest = reader.path(dependency['manifest_path'], `${where}.dependency.manifest_path`);
  const advisory = reader.object(alert['security_advisory'], `${where}.security_advisory`);
  const ghsa = reader.word(advisory['ghsa_id'], `${where}.security_advisory.ghsa_id`);
  if (!ID.test(ghsa)) reader.fail(`${where}.security_advisory.ghsa_id`, 'is not a GHSA id');
  const summary = reader.string(advisory['summary'], `${where}.security_advisory.summary`);
  const severity = reader.oneOf(advisory['severity'], `${where}.security_advisory.severity`, DEPENDABOT_SEVERITY);
  const identifiers = reader.each(advisory['identifiers'], `${where}.security_advisory.identifiers`, (id, at) => {
    const entry = reader.object(id, at);
    reader.word(entry['type'], `${at}.type`);
    return reader.word(entry['value'], `${at}.value`);
  });
  const cveField = advisory['cve_id'] === null || advisory['cve_id'] === undefined ? undefined : reader.word(advisory['cve_id'], `${where}.security_advisory.cve_id`);
  const aliases = [...new Set([ghsa, ...identifiers, ...(cveField ? [cveField] : [])])].sort();
  const cwes = advisory['cwes'] === undefined ? [] : reader.each(advisory['cwes'], `${where}.security_advisory.cwes`, (c, at) => reader.word(reader.object(c, at)['cwe_id'], `${at}.cwe_id`));
  const vulnerability = reader.object(alert['security_vulnerability'], `${where}.security_vulnerability`);
  const range = reader.string(vulnerability['vulnerable_version_range'], `${where}.security_vulnerability.vulnerable_version_range`);
  const patched = vulnerability['first_patched_version'];
  const fixed =
    patched === null || patched === undefined
      ? undefined
      : reader.word(reader.object(patched, `${where}.security_vulnerability.first_patched_version`)['identifier'], `${where}.security_vulnerability.first_patched_version.identifier`);
  const htmlUrl = reader.optionalString(alert['html_url'], `${where}.html_url`);
  const upgrade = fixed ? `upgrade ${name} to ${fixed}` : 'no patched version is published';
  return {
    manifest,
    ecosystem,
    name,
    finding: {
      tool: TOOL,
      ruleId: ghsa,
      title: `${name} ${range}: ${ghsa} ${summary}`,
      // Alerts name the vulnerable range, not the installed version (GitHub read it from the manifest).
      message: `${name} (${ecosystem}, ${range}) in ${manifest} is affected by ${aliases.join(', ')} (severity ${severity}, GitHub advisory; Dependabot alert #${number}). Fixed in: ${fixed ?? 'no patched version'}; ${upgrade}.`,
      severity,
      location: { path: manifest },
      cwe: cwes.length > 0 ? cwes : undefined,
      cve: aliases.filter((a) => a.startsWith('CVE-')),
      aliases,
      package: { name, ecosystem, fixedVersions: fixed ? [fixed] : [] },
      helpUri: htmlUrl ?? `https://osv.dev/vulnerability/${ghsa}`,
      // No installed version in an alert: the manifest stands in for it, so two manifests pinning
      // the same package are two findings, as they are two alerts.
      identity: `${ecosystem}:${name}@${manifest}:${aliases[0]}`,
      tags: ['dependency', ecosystem, 'dependabot']
    }
  };
}

/** Reads one page (or all pages, concatenated) of alerts. A non-array body is a ToolOutputError. */
export async function parseDependabotAlerts(alerts: unknown, workspace: string | undefined): Promise<ParsedReport> {
  const read = reader.each(alerts, 'alerts', readAlert);
  const findings: RawFinding[] = [];
  for (const { finding, manifest, ecosystem, name } of read) {
    let location: FindingLocation | undefined;
    if (workspace !== undefined) {
      try {
        location = await locateDeclaration(workspace, [manifest], ecosystem, name);
      } catch {
        location = undefined; // a manifest not in this checkout: the path alone
      }
    }
    findings.push(location ? { ...finding, location } : finding);
  }
  return { findings, warnings: [] };
}

/** `owner/name` of the repository: the `repository` option, else GITHUB_REPOSITORY. */
function repository(context: ToolContext): { owner: string; repo: string } {
  const value = context.options['repository'] || process.env['GITHUB_REPOSITORY'] || '';
  const match = /^([A-Za-z0-9][A-Za-z0-9-]{0,38})\/([A-Za-z0-9._-]{1,100})$/.exec(value);
  if (!match) throw new ConfigurationError(`dependabot needs the repository as owner/name (GITHUB_REPOSITORY), got ${JSON.stringify(value.slice(0, 80))}`, 'repository');
  return { owner: match[1]!, repo: match[2]! };
}

function httpStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** GitHub's own message from an error answer (first line, bounded), without anything we sent. */
function apiMessage(error: unknown): string {
  const data = (error as { response?: { data?: unknown } }).response?.data;
  const message = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)['message'] : undefined;
  return typeof message === 'string' ? message.split('\n')[0]!.slice(0, 200) : '';
}

export async function collectDependabotAlerts(context: ToolContext): Promise<ParsedReport> {
  const token = context.options['token'];
  if (!token) {
    throw new ConfigurationError('the dependabot tool reads the repository\'s alerts and needs a token that can (input `token`; a fine-grained token with "Dependabot alerts: read", or the workflow token with `permissions: security-events: read`)', 'token');
  }
  const { owner, repo } = repository(context);
  const baseUrl = (context.options['github-api-url'] || process.env['GITHUB_API_URL'] || 'https://api.github.com').replace(/\/$/, '');
  // The token goes only into Octokit's Authorization header: never argv, a file or a message.
  const octokit = getOctokit(token, { baseUrl, request: { retries: 0 } });
  const where = `${owner}/${repo}`;
  let alerts: unknown[];
  try {
    let count = 0;
    alerts = await octokit.paginate(
      'GET /repos/{owner}/{repo}/dependabot/alerts',
      { owner, repo, state: 'open', per_page: 100 },
      (response) => {
        // A page that is not an array is garbled: say so rather than let paginate mis-read it.
        const page: unknown = response.data;
        if (!Array.isArray(page)) throw new ToolOutputError(TOOL, `a page of ${where}'s alerts is ${page === null ? 'null' : typeof page}, expected an array`);
        count += page.length;
        if (count > MAX_DEPENDABOT_ALERTS) throw new ToolFailureError(TOOL, `${where} has more than ${MAX_DEPENDABOT_ALERTS} open alerts: too many to gate on; triage them first`);
        return page as unknown[];
      }
    );
  } catch (error) {
    if (error instanceof ToolFailureError) throw error;
    // Octokit reports a request that got no answer (refused, DNS, timeout) as status 500 without a response.
    const answered = (error as { response?: unknown } | null)?.response !== undefined;
    const status = answered ? httpStatus(error) : undefined;
    const message = apiMessage(error);
    if (status === 403 && /disabled/i.test(message)) {
      throw new ToolFailureError(TOOL, `Dependabot alerts are disabled for ${where} (HTTP 403: ${message}): enable them in the repository's security settings, or deselect dependabot`);
    }
    if (status === 401 || status === 403) {
      throw new ConfigurationError(
        `the token cannot read ${where}'s Dependabot alerts (HTTP ${status}${message ? `: ${message}` : ''}): the workflow needs \`permissions: security-events: read\`, a fine-grained token "Dependabot alerts: read", a classic token the security_events scope`,
        'token'
      );
    }
    if (status === 404) {
      throw new ToolFailureError(TOOL, `no Dependabot alerts for ${where} (HTTP 404${message ? `: ${message}` : ''}): the repository does not exist for this token, or Dependabot alerts are not enabled on it`);
    }
    const text = String((error as Error)?.message ?? '');
    // Octokit hands a body that is not JSON on as a string, and paginate then fails on it.
    if (status === undefined && (error instanceof SyntaxError || /total_count|JSON|Unexpected token/i.test(text))) {
      throw new ToolOutputError(TOOL, `the alerts API at ${baseUrl} answered with a body that is not a JSON array of alerts`);
    }
    const causeOf = (e: unknown): unknown => (e as { cause?: unknown } | null)?.cause;
    const codeOf = (e: unknown): unknown => (e as { code?: unknown } | null)?.code;
    const cause = codeOf(causeOf(error)) ?? codeOf(causeOf(causeOf(error))) ?? codeOf(causeOf(causeOf(causeOf(error))));
    // The message only when it quotes nothing the server sent (a body can be anything).
    const reason = /["'{[]/.test(text) ? (error as Error)?.name ?? 'error' : `${(error as Error)?.name ?? 'error'}: ${text.split('\n')[0]!.slice(0, 160)}`;
    throw new ToolFailureError(
      TOOL,
      `the alerts API at ${baseUrl} could not be read${status ? ` (HTTP ${status}${message ? `: ${message}` : ''})` : ` (${reason}${typeof cause === 'string' ? `, ${cause}` : ''})`}`
    );
  }
  context.logger.info(`Dependabot: ${alerts.length} open alert(s) in ${where}`);
  return parseDependabotAlerts(alerts, context.workspace);
}

export const dependabotAdapter: ToolAdapter = {
  id: TOOL,
  displayName: 'Dependabot alerts',
  description: "The repository's open Dependabot alerts (GitHub REST API, default branch), annotated on their manifests. Opt-in; needs a token that can read them.",
  install: { kind: 'none', tool: TOOL, defaultVersion: `rest-${API_VERSION}` },
  defaultTimeoutMs: 5 * 60_000,
  severityMap: DEPENDABOT_SEVERITY,
  command() {
    throw new ToolFailureError(TOOL, 'is an API: the engine calls collect()');
  },
  exitMeaning: () => 'error',
  parse() {
    throw new ToolFailureError(TOOL, 'is an API: the engine calls collect()');
  },
  collect: (_tool, context) => collectDependabotAlerts(context)
};
