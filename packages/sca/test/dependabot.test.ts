import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigurationError, ToolFailureError, ToolOutputError, type ToolContext } from '@secgate/core';
import { collectDependabotAlerts, parseDependabotAlerts } from '../src/adapters/dependabot.js';
import { paginatedRoute, startFakeGitHubApi, type FakeGitHubApi } from '../../../test/helpers/fake-github-api.js';
import { REPO_ROOT } from '../../../test/helpers/runner.js';

/** GitHub's published example response (2 alerts: a dismissed django one, an open ansible one), read at test time. */
const EXAMPLE = path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'upstream', 'dependabot', 'alerts-for-repository.json');
const TOKEN = 'ghs_s5DependabotTestToken0123456789abcdef';
const ALERTS_PATH = '/repos/secgate-tests/example/dependabot/alerts';

const silent = { info: () => undefined, warning: () => undefined, error: () => undefined, debug: () => undefined, group: async <T>(_: string, fn: () => Promise<T>) => fn() };

function context(workspace: string, api: FakeGitHubApi | undefined, token: string | undefined = TOKEN): ToolContext {
  return {
    workspace,
    targets: ['.'],
    exclude: [],
    workDir: workspace,
    options: { ...(token ? { token } : {}), repository: 'secgate-tests/example', 'github-api-url': api?.url ?? 'http://127.0.0.1:9' },
    logger: silent as unknown as ToolContext['logger']
  };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('Dependabot alerts', () => {
  let example: Record<string, unknown>[];
  let workspace: string;
  beforeAll(async () => {
    example = JSON.parse(await readFile(EXAMPLE, 'utf8')) as Record<string, unknown>[];
    workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-dependabot-'));
    await mkdir(path.join(workspace, 'path', 'to'), { recursive: true });
    // The example's manifest path, with ansible declared on line 3.
    await writeFile(path.join(workspace, 'path', 'to', 'requirements.txt'), 'requests==2.31.0\n# pinned for the playbooks\nansible==2.8.0\n');
  });

  it('reads every page of OPEN alerts, follows Link headers, annotates the manifest line, and never sends or shows the token elsewhere', async () => {
    // The example's two alerts, plus its open one under four more alert numbers (a test
    // construction, so the bounded server needs three pages of two to serve five open alerts).
    const open = example.find((a) => a['state'] === 'open')!;
    const items = [...example, ...[2, 3, 4, 5].map((n) => ({ ...open, number: 100 + n }))];
    const holder: { api?: FakeGitHubApi } = {};
    const api = await startFakeGitHubApi([paginatedRoute(ALERTS_PATH, items, 2, () => holder.api!.url)], 10);
    holder.api = api;
    try {
      const report = await collectDependabotAlerts(context(workspace, api));
      expect(api.requests.map((r) => r.path)).toEqual([
        `${ALERTS_PATH}?state=open&per_page=100`,
        `${ALERTS_PATH}?state=open&per_page=100&after=2`,
        `${ALERTS_PATH}?state=open&per_page=100&after=4`
      ]);
      expect(api.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
      expect(report.findings).toHaveLength(5);
      // The dismissed django alert of the example is not among them.
      expect(report.findings.some((f) => f.package?.name === 'django')).toBe(false);
      expect(report.findings[0]).toMatchObject({
        tool: 'dependabot',
        ruleId: 'GHSA-8f4m-hccc-8qph',
        severity: 'medium',
        title: 'ansible < 2.8.19: GHSA-8f4m-hccc-8qph Insertion of Sensitive Information into Log File in ansible',
        location: { path: 'path/to/requirements.txt', startLine: 3 },
        cwe: ['CWE-532'],
        cve: ['CVE-2021-20191'],
        aliases: ['CVE-2021-20191', 'GHSA-8f4m-hccc-8qph'],
        package: { name: 'ansible', ecosystem: 'PyPI', fixedVersions: ['2.8.19'] },
        helpUri: 'https://github.com/octocat/hello-world/security/dependabot/1',
        identity: 'PyPI:ansible@path/to/requirements.txt:CVE-2021-20191',
        tags: ['dependency', 'PyPI', 'dependabot']
      });
      expect(report.findings[0]!.message).toContain('upgrade ansible to 2.8.19');
      expect(JSON.stringify(report)).not.toContain(TOKEN);
    } finally {
      await api.close();
    }
  });

  it('a token without permission is a named configuration error naming the permission', async () => {
    const api = await startFakeGitHubApi([() => ({ status: 403, body: { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest' } })], 5);
    try {
      const error = await failure(collectDependabotAlerts(context(workspace, api)));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).toMatch(/^token: the token cannot read secgate-tests\/example's Dependabot alerts \(HTTP 403: Resource not accessible by integration\).*security-events: read/);
      expect(error.message).not.toContain(TOKEN);
      expect(api.requests).toHaveLength(1);
    } finally {
      await api.close();
    }
  });

  it('alerts switched off (403 "disabled") and a 404 are tool failures that say which', async () => {
    const disabled = await startFakeGitHubApi([() => ({ status: 403, body: { message: 'Dependabot alerts are disabled for this repository.' } })], 5);
    const missing = await startFakeGitHubApi([], 5);
    try {
      const off = await failure(collectDependabotAlerts(context(workspace, disabled)));
      expect(off).toBeInstanceOf(ToolFailureError);
      expect(off.message).toMatch(/Dependabot alerts are disabled for secgate-tests\/example/);
      const notFound = await failure(collectDependabotAlerts(context(workspace, missing)));
      expect(notFound).toBeInstanceOf(ToolFailureError);
      expect(notFound.message).toMatch(/HTTP 404: Not Found\): the repository does not exist for this token, or Dependabot alerts are not enabled/);
    } finally {
      await disabled.close();
      await missing.close();
    }
  });

  it('a malformed body, a non-array page or a garbled alert is unreadable output, never 0 alerts', async () => {
    const truncated = await startFakeGitHubApi([() => ({ status: 200, rawBody: '[{"number": 1, "state": "op' })], 5);
    const object = await startFakeGitHubApi([() => ({ status: 200, body: { alerts: [] } })], 5);
    try {
      const cut = await failure(collectDependabotAlerts(context(workspace, truncated)));
      expect(cut.message).toMatch(/answered with a body that is not a JSON array of alerts$/);
      expect(cut.message).not.toContain('"state"');
      expect(cut).toBeInstanceOf(ToolOutputError);
      const notArray = await failure(collectDependabotAlerts(context(workspace, object)));
      expect(notArray).toBeInstanceOf(ToolOutputError);
      expect(notArray.message).toMatch(/expected an array/);
    } finally {
      await truncated.close();
      await object.close();
    }
    const open = example.find((a) => a['state'] === 'open')!;
    const badSeverity = structuredClone(open) as { security_advisory: { severity: string } };
    badSeverity.security_advisory.severity = 'moderate';
    await expect(parseDependabotAlerts([badSeverity], undefined)).rejects.toThrow(/alerts\[0\].security_advisory.severity is "moderate"/);
    await expect(parseDependabotAlerts([{ ...open, state: 'dismissed' }], undefined)).rejects.toThrow(/state is "dismissed" in an answer to state=open/);
    await expect(parseDependabotAlerts([{ ...open, dependency: undefined }], undefined)).rejects.toThrow(/alerts\[0\].dependency is missing/);
  });

  it('without a token, or on an unreachable API, it is red and says why', async () => {
    const noToken = await failure(collectDependabotAlerts(context(workspace, undefined, '')));
    expect(noToken).toBeInstanceOf(ConfigurationError);
    expect(noToken.message).toMatch(/^token: the dependabot tool reads the repository's alerts and needs a token/);
    const unreachable = await failure(collectDependabotAlerts(context(workspace, undefined)));
    expect(unreachable).toBeInstanceOf(ToolFailureError);
    expect(unreachable.message).toMatch(/the alerts API at http:\/\/127.0.0.1:9 could not be read \(HttpError/);
    expect(unreachable.message).not.toContain(TOKEN);
  });
});
