/**
 * End to end: the built sca action bundle (`dist/sca`, or SECGATE_DIST_DIR) on Node 24, as the runner runs it, on the
 * fixture ML project (packages/sca/test/fixtures/ml-project), against the loopback OSV API serving the real advisory
 * records of ../shared/fixtures/advisories.
 *
 * Structure: one shared setup (job, OSV API, workspace copy) and one `describe` per tool. Each sca engineer adds a
 * `describe('<tool>')` block below; keep assertions on real tool output (no hard-coded results).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, newJob, runStep, type RunnerJob, type StepResult } from '../helpers/runner.js';
import { startOsvApi, unreachableUrl, type OsvApi } from '../helpers/osv-api.js';

const ML_PROJECT = path.join(REPO_ROOT, 'packages', 'sca', 'test', 'fixtures', 'ml-project');
const STEP_TIMEOUT = 15 * 60_000;

let job: RunnerJob;
let api: OsvApi;
let root: string;

/** A fresh copy of the fixture project (tests may break files in it). */
async function workspaceCopy(name: string, changes: Record<string, string> = {}): Promise<string> {
  const dir = path.join(root, name);
  await cp(ML_PROJECT, dir, { recursive: true });
  for (const [file, text] of Object.entries(changes)) await writeFile(path.join(dir, file), text);
  return dir;
}

beforeAll(async () => {
  job = await newJob({ sharedToolCache: true });
  api = await startOsvApi({ maxRequests: 20_000 });
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-sca-e2e-'));
});
afterAll(async () => {
  await api.close();
  await rm(root, { recursive: true, force: true });
});

describe('pip-audit', () => {
  const run = async (workspace: string, inputs: Record<string, string>): Promise<StepResult> =>
    runStep({ bundle: 'sca', workspace, job, inputs: { tools: 'pip-audit', 'fail-on': 'high', cache: 'false', ...inputs }, timeoutMs: STEP_TIMEOUT });

  it('gates the fixture project: enriched advisories annotated on their requirements lines, verdict fail', async () => {
    const step = await run(await workspaceCopy('fixture'), { 'osv-url': api.url });
    expect(step.outputs['verdict']).toBe('fail');
    expect(step.exitCode).toBe(1);
    const onFile = step.annotations.filter((a) => a.properties['file'] === 'requirements.txt');
    const lineOf = (id: string): string | undefined => onFile.find((a) => (a.properties['title'] ?? '').includes(id) || a.message.includes(id))?.properties['line'];
    expect(lineOf('PYSEC-2021-142')).toBe('6'); // PyYAML==5.3.1
    expect(lineOf('PYSEC-2023-138')).toBe('5'); // langchain==0.0.171
    expect(lineOf('CVE-2021-34141')).toBe('7'); // numpy==1.21.0
    const pyyaml = onFile.find((a) => a.message.includes('PYSEC-2021-142'))!;
    expect(pyyaml.command).toBe('error');
    expect(pyyaml.message).toContain('CVSS:3.1 9.8');
    expect(pyyaml.message).toContain('upgrade pyyaml to 5.4');
    expect(step.summary).toContain('pip-audit');
  }, STEP_TIMEOUT);

  it('is red with a named error when the OSV service is unreachable, never "0 vulnerabilities"', async () => {
    const step = await run(await workspaceCopy('unreachable'), { 'osv-url': await unreachableUrl() });
    expect(step.outputs['verdict']).toBe('error');
    expect(step.exitCode).toBe(1);
    expect(step.stdout).toMatch(/ToolFailureError|pip-audit: .*without writing its JSON report/);
  }, STEP_TIMEOUT);

  it('is red when the pypi service checks nothing (the measured 404 for every package)', async () => {
    const step = await run(await workspaceCopy('pypi'), { 'vulnerability-service': 'pypi', 'osv-url': api.url });
    expect(step.exitCode).toBe(1);
    expect(['error', 'fail']).toContain(step.outputs['verdict']);
    // On this machine the registry answers 404: every dependency is unchecked and named.
    if (step.outputs['verdict'] === 'error') expect(step.stdout).toMatch(/torch/);
  }, STEP_TIMEOUT);

  it('is red naming the line of an unparsable requirements file', async () => {
    const step = await run(await workspaceCopy('broken', { 'requirements.txt': 'numpy==1.21.0\ntorch===\n' }), { 'osv-url': api.url });
    expect(step.outputs['verdict']).toBe('error');
    expect(step.stdout).toContain('requirements.txt:2: not a requirement pip can read');
  }, STEP_TIMEOUT);
});

/**
 * The loopback release mirror serving the locally built osv-scanner (pinned by its digest: the committed
 * lock holds upstream's) and offline zips built from the real records, for the describe block that calls it.
 */
function useOsvScannerMirror(): { mirror?: import('../helpers/release-mirror.js').ReleaseMirror; db?: import('../helpers/osv-offline-db.js').OfflineDb; pins: string } {
  const state: ReturnType<typeof useOsvScannerMirror> = { pins: '' };
  beforeAll(async () => {
    const { mirrorAvailable, mirrorRoot, startReleaseMirror, testLock } = await import('../helpers/release-mirror.js');
    const { requireTool } = await import('../helpers/runner.js');
    // Fails in CI when the mirror is missing; elsewhere the tests skip with the printed reason.
    if (!requireTool(mirrorAvailable(), 'the loopback release mirror (scripts/tools/build-mirror.sh) for osv-scanner')) return;
    const digest = testLock().binary['osv-scanner']?.['2.6.0']?.['linux-x64'];
    if (!digest) throw new Error('the release mirror has no osv-scanner 2.6.0: run scripts/tools/build-mirror.sh');
    state.pins = `osv-scanner=2.6.0@${digest}`;
    state.mirror = await startReleaseMirror(mirrorRoot());
    state.db = await (await import('../helpers/osv-offline-db.js')).buildOfflineDb({ ecosystems: ['PyPI'] });
  });
  afterAll(async () => {
    await state.mirror?.close();
    if (state.db) await rm(state.db.dir, { recursive: true, force: true });
  });
  return state;
}

describe('osv-scanner', () => {
  const osv = useOsvScannerMirror();
  const run = async (workspace: string, inputs: Record<string, string>): Promise<StepResult> =>
    runStep({
      bundle: 'sca',
      workspace,
      job,
      inputs: { tools: 'osv-scanner', 'fail-on': 'high', cache: 'false', 'tool-versions': osv.pins, 'mirror-url': osv.mirror!.url, ...inputs },
      timeoutMs: STEP_TIMEOUT
    });

  it('gates the fixture project offline: verified install, advisories on their requirements lines, verdict fail', async () => {
    if (!osv.mirror || !osv.db) return;
    const step = await run(await workspaceCopy('osv-scanner'), { 'osv-offline-db': osv.db.dir });
    expect(step.outputs['verdict']).toBe('fail');
    expect(step.exitCode).toBe(1);
    const onFile = step.annotations.filter((a) => a.properties['file'] === 'requirements.txt');
    const annotation = (id: string) => onFile.find((a) => (a.properties['title'] ?? '').includes(id) || a.message.includes(id));
    expect(annotation('PYSEC-2021-142')?.properties['line']).toBe('6'); // PyYAML==5.3.1
    expect(annotation('GHSA-fpfv-jqm9-f5jm')?.properties['line']).toBe('7'); // numpy==1.21.0
    expect(annotation('PYSEC-2021-142')!.message).toContain('upgrade pyyaml to 5.4');
    expect(step.summary).toContain('osv-scanner');
  }, STEP_TIMEOUT);

  it('a custom osv-url without osv-offline-db is a skipped tool: verdict error, never a pass', async () => {
    if (!osv.mirror) return;
    const step = await run(await workspaceCopy('osv-scanner-url'), { 'osv-url': api.url });
    expect(step.outputs['verdict']).toBe('error');
    expect(step.exitCode).toBe(1);
    expect(step.stdout).toContain('cannot use a custom OSV API (osv-url)');
  }, STEP_TIMEOUT);
});

describe('model files', () => {
  // Generated here (never committed as binaries, never loaded): see packages/sca/test/helpers/make-model-files.py.
  const modelWorkspace = async (name: string, keep: (file: string) => boolean): Promise<string> => {
    const { writeModelFiles } = await import('../../packages/sca/test/helpers/model-files.js');
    const { readdir } = await import('node:fs/promises');
    const dir = await workspaceCopy(name);
    await writeModelFiles(path.join(dir, 'models'));
    for (const file of await readdir(path.join(dir, 'models'))) if (!keep(file)) await rm(path.join(dir, 'models', file));
    return dir;
  };
  const run = async (workspace: string, inputs: Record<string, string> = {}): Promise<StepResult> =>
    runStep({ bundle: 'sca', workspace, job, inputs: { tools: 'modelscan,picklescan', 'fail-on': 'high', cache: 'false', ...inputs }, timeoutMs: STEP_TIMEOUT });

  it('blocks on malicious model files found by both scanners (one annotation per file), clean ones pass, SBOM lists each with its verdict', async () => {
    const { MALICIOUS_FILES, CLEAN_FILES } = await import('../../packages/sca/test/helpers/model-files.js');
    const step = await run(await modelWorkspace('models', (f) => f !== 'corrupt.pkl'), { sbom: 'true' });
    expect(step.outputs['verdict']).toBe('fail');
    expect(step.exitCode).toBe(1);
    expect(step.outputs['critical']).toBe(String(MALICIOUS_FILES.length));
    const onModels = step.annotations.filter((a) => (a.properties['file'] ?? '').startsWith('models/'));
    expect(onModels.map((a) => a.properties['file']).sort()).toEqual(MALICIOUS_FILES.map((f) => `models/${f}`).sort());
    for (const annotation of onModels) {
      expect(annotation.command).toBe('error');
      expect(annotation.properties['line']).toBeUndefined();
      expect(`${annotation.properties['title'] ?? ''} ${annotation.message}`).toContain('posix.system');
    }
    expect(step.summary).toContain('Model files');
    for (const name of [...MALICIOUS_FILES, ...CLEAN_FILES]) expect(step.summary).toContain(`models/${name}`);

    const { readFile } = await import('node:fs/promises');
    const sbom = JSON.parse(await readFile(step.outputs['sbom-file']!, 'utf8')) as { components?: { type: string; name: string; hashes?: { alg: string; content: string }[]; properties?: { name: string; value: string }[] }[] };
    const models = (sbom.components ?? []).filter((c) => c.type === 'machine-learning-model');
    expect(models).toHaveLength(MALICIOUS_FILES.length + CLEAN_FILES.length);
    const verdictOf = (name: string): string | undefined =>
      models.find((c) => c.name === `models/${name}`)?.properties?.find((p) => p.name === 'secgate:model-scan-verdict')?.value;
    expect(verdictOf('malicious-legacy.pth')).toBe('unsafe');
    expect(verdictOf('clean-zip.pt')).toBe('clean');
    for (const c of models) expect(c.hashes?.find((h) => h.alg === 'SHA-256')?.content).toMatch(/^[0-9a-f]{64}$/);
  }, STEP_TIMEOUT);

  it('is red when a model file cannot be read (never "clean")', async () => {
    const step = await run(await modelWorkspace('models-corrupt', (f) => f.startsWith('clean') || f === 'corrupt.pkl'));
    expect(step.outputs['verdict']).toBe('error');
    expect(step.exitCode).toBe(1);
    expect(step.stdout).toContain('models/corrupt.pkl');
    expect(step.stdout).toMatch(/ToolIncompleteError|could not check/);
  }, STEP_TIMEOUT);
});

describe('pip-audit + osv-scanner: one finding per vulnerability', () => {
  // Three runs of the bundle on the fixture: each tool alone and both together. The merged run must
  // lose nothing either tool reports alone, and a vulnerability both report is one finding.
  interface ReportFinding {
    tool: string;
    ruleId: string;
    severity: string;
    severityBasis?: string;
    aliases?: string[];
    cve?: string[];
    package?: { name: string; version?: string; ecosystem?: string };
    location?: { path: string; startLine?: number };
    sources: { tool: string; ruleId: string }[];
    reported: boolean;
  }
  const osv = useOsvScannerMirror();
  /** One bundle run with its own output dir; returns the step and the findings of its JSON report. */
  const run = async (tools: string): Promise<{ step: StepResult; findings: ReportFinding[] }> => {
    const name = `dedup-${tools.replace(/,/g, '+')}`;
    const outputDir = path.join(root, `${name}-out`);
    const step = await runStep({
      bundle: 'sca',
      workspace: await workspaceCopy(name),
      // A job of its own: GitHub shows 50 annotations per job, and this block counts them.
      job: await newJob({ sharedToolCache: true }),
      inputs: { tools, 'fail-on': 'high', cache: 'false', 'osv-url': api.url, 'osv-offline-db': osv.db!.dir, 'tool-versions': osv.pins, 'mirror-url': osv.mirror!.url, 'output-dir': outputDir },
      timeoutMs: STEP_TIMEOUT
    });
    expect(step.outputs['verdict']).toBe('fail');
    expect(step.outputs['report-file']).toBeTruthy();
    const { readFile } = await import('node:fs/promises');
    const report = JSON.parse(await readFile(step.outputs['report-file']!, 'utf8')) as { tools: { tool: string; status: string }[]; findings: ReportFinding[] };
    expect(report.tools.map((t) => `${t.tool}:${t.status}`).sort()).toEqual(tools.split(',').map((t) => `${t}:ok`).sort());
    return { step, findings: report.findings };
  };
  const pkgKey = (f: ReportFinding): string => `${f.package!.name}@${f.package!.version}`;
  const idsOf = (f: ReportFinding): Set<string> => new Set([f.ruleId, ...(f.aliases ?? []), ...(f.cve ?? []), ...f.sources.map((s) => s.ruleId)]);

  it('merges what both tools report (sources, aliases, one annotation on the line) and loses nothing either reports alone', async () => {
    if (!osv.mirror || !osv.db) return;
    const alone = { 'pip-audit': (await run('pip-audit')).findings, 'osv-scanner': (await run('osv-scanner')).findings };
    const { step, findings: merged } = await run('pip-audit,osv-scanner');
    for (const tool of ['pip-audit', 'osv-scanner'] as const) expect(alone[tool].length).toBeGreaterThan(0);

    // Nothing lost, nothing invented: every (package, id) of each lone run is a source of the merged run,
    // and the merged run's sources are exactly the lone runs' reports (each once).
    const sourcesOf = (findings: ReportFinding[]): string[] => findings.flatMap((f) => f.sources.map((s) => `${s.tool} ${pkgKey(f)} ${s.ruleId}`)).sort();
    expect(sourcesOf(merged)).toEqual([...sourcesOf(alone['pip-audit']), ...sourcesOf(alone['osv-scanner'])].sort());
    for (const tool of ['pip-audit', 'osv-scanner'] as const) {
      for (const f of alone[tool]) {
        const home = merged.find((m) => pkgKey(m) === pkgKey(f) && m.sources.some((s) => s.tool === tool && s.ruleId === f.ruleId));
        expect(home && [...(f.aliases ?? [])].every((id) => idsOf(home).has(id))).toBe(true);
      }
    }
    // A vulnerability both tools report is one finding: no pip-audit-only and osv-scanner-only findings
    // of one package share an id.
    const both = merged.filter((f) => new Set(f.sources.map((s) => s.tool)).size === 2);
    expect(both.length).toBeGreaterThan(0);
    expect(merged.length).toBe(alone['pip-audit'].length + alone['osv-scanner'].length - both.length);
    const single = (tool: string) => merged.filter((f) => f.sources.every((s) => s.tool === tool));
    for (const p of single('pip-audit')) {
      for (const o of single('osv-scanner')) {
        if (pkgKey(p) !== pkgKey(o)) continue;
        expect([...idsOf(p)].filter((id) => idsOf(o).has(id))).toEqual([]);
      }
    }

    // pyyaml 5.3.1, CVE-2020-14343: pip-audit's PYSEC and osv-scanner's GHSA record, one finding.
    const pyyaml = merged.filter((f) => f.package?.name === 'pyyaml' && idsOf(f).has('CVE-2020-14343'));
    expect(pyyaml).toHaveLength(1);
    expect(pyyaml[0]!.sources.map((s) => s.tool).sort()).toEqual(['osv-scanner', 'pip-audit']);
    expect([...idsOf(pyyaml[0]!)]).toEqual(expect.arrayContaining(['PYSEC-2021-142', 'GHSA-8q59-q68h-6hv4', 'CVE-2020-14343']));
    expect(pyyaml[0]!.severity).toBe('critical');
    expect(pyyaml[0]!.severityBasis).toMatch(/^CVSS:3\.1 9\.8\b/); // with the record it came from
    expect(pyyaml[0]!.location).toMatchObject({ path: 'requirements.txt', startLine: 6 });
    const annotated = step.annotations.filter((a) => `${a.properties['title'] ?? ''} ${a.message}`.includes('CVE-2020-14343'));
    expect(annotated).toHaveLength(1);
    expect(annotated[0]!.properties['file']).toBe('requirements.txt');
    expect(annotated[0]!.properties['line']).toBe('6');
    expect(annotated[0]!.command).toBe('error');
    expect(annotated[0]!.message).toContain('CVSS:3.1 9.8');
    expect(annotated[0]!.properties['title']).toMatch(/pip-audit PYSEC-2021-142, osv-scanner (PYSEC-2021-142|GHSA-8q59-q68h-6hv4)/);
    // Each merged finding is annotated at most once (GitHub caps annotations per step: the rest are counted as omitted).
    const onRequirements = step.annotations.filter((a) => a.properties['file'] === 'requirements.txt');
    expect(new Set(onRequirements.map((a) => a.properties['title'])).size).toBe(onRequirements.length);
    expect(onRequirements.length + Number(step.outputs['annotations-omitted'])).toBe(merged.filter((f) => f.reported && f.location?.path === 'requirements.txt').length);
  }, 3 * STEP_TIMEOUT);
});

describe('npm audit, Snyk, Dependabot', () => {
  const NPM_PROJECT = path.join(REPO_ROOT, 'packages', 'sca', 'test', 'fixtures', 'npm-project');
  /** GitHub's published example answer (a dismissed django alert, an open ansible one), read at test time. */
  const DEPENDABOT_EXAMPLE = path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'upstream', 'dependabot', 'alerts-for-repository.json');
  const ALERTS_PATH = '/repos/secgate-tests/example/dependabot/alerts';
  const GITHUB_TOKEN = 'ghs_t1E2eDependabotToken0123456789abcdef';
  const SNYK_TOKEN = 'snyk-t1-e2e-token-5e4f3a2b1c0d';

  const npmWorkspace = async (name: string): Promise<string> => {
    const dir = path.join(root, name);
    await cp(NPM_PROJECT, dir, { recursive: true });
    return dir;
  };
  /** The bundle's child npm reaches the loopback registry only through its environment, as on a runner. */
  const runNpmAudit = async (workspace: string, registryUrl: string, stepJob: RunnerJob = job): Promise<StepResult> =>
    runStep({
      bundle: 'sca',
      workspace,
      job: stepJob,
      inputs: { tools: 'npm-audit', 'fail-on': 'high', cache: 'false' },
      env: { npm_config_registry: registryUrl, npm_config_cache: path.join(root, 'npm-cache') },
      timeoutMs: STEP_TIMEOUT
    });
  /** A workspace holding the example alert's manifest, ansible declared on line 3. */
  const dependabotWorkspace = async (name: string): Promise<string> => {
    const { mkdir } = await import('node:fs/promises');
    const dir = await workspaceCopy(name);
    await mkdir(path.join(dir, 'path', 'to'), { recursive: true });
    await writeFile(path.join(dir, 'path', 'to', 'requirements.txt'), 'requests==2.31.0\n# pinned for the playbooks\nansible==2.8.0\n');
    return dir;
  };

  it('npm audit: the advisory from the loopback registry lands on its package-lock.json entry, verdict fail', async () => {
    const { readFile } = await import('node:fs/promises');
    const { startNpmAdvisoryRegistry } = await import('../helpers/npm-advisory-registry.js');
    const registry = await startNpmAdvisoryRegistry('advisories');
    // A job of its own: GitHub shows 50 annotations per job, and the shared job's steps have used them.
    const ownJob = await newJob({ sharedToolCache: true });
    try {
      const workspace = await npmWorkspace('npm-audit');
      const step = await runNpmAudit(workspace, registry.url, ownJob);
      expect(registry.requests.some((r) => r.startsWith('POST /-/npm/v1/security/advisories/bulk'))).toBe(true);
      expect(step.outputs['verdict']).toBe('fail');
      expect(step.exitCode).toBe(1);
      const lockText = await readFile(path.join(workspace, 'package-lock.json'), 'utf8');
      const electronLine = lockText.split('\n').findIndex((l) => l.includes('"node_modules/electron": {')) + 1;
      expect(electronLine).toBeGreaterThan(1);
      const onLock = step.annotations.filter((a) => a.properties['file'] === 'package-lock.json');
      // The whole list on failure: where else the finding went is the diagnosis.
      expect(onLock.length === 1 ? onLock : { annotations: step.annotations, stdout: step.stdout.slice(-3000) }).toHaveLength(1);
      const [electron] = onLock;
      expect(electron!.command).toBe('error');
      expect(electron!.properties['line']).toBe(String(electronLine));
      expect(`${electron!.properties['title'] ?? ''} ${electron!.message}`).toContain('GHSA-j7hp-h8jx-5ppr');
      expect(electron!.message).toContain('upgrade electron to 22.3.24');
      expect(step.outputs['high']).toBe('1');
      expect(step.summary).toContain('npm-audit');
    } finally {
      await registry.close();
      await rm(path.dirname(ownJob.temp), { recursive: true, force: true });
    }
  }, STEP_TIMEOUT);

  it('npm audit: an audit endpoint answering 405 is a named tool failure, verdict error, never "0 vulnerabilities"', async () => {
    const { startNpmAdvisoryRegistry } = await import('../helpers/npm-advisory-registry.js');
    const registry = await startNpmAdvisoryRegistry(405);
    try {
      const step = await runNpmAudit(await npmWorkspace('npm-audit-405'), registry.url);
      expect(registry.requests.some((r) => r.startsWith('POST /-/npm/v1/security/'))).toBe(true);
      expect(step.outputs['verdict']).toBe('error');
      expect(step.exitCode).toBe(1);
      const failure = step.annotations.find((a) => a.command === 'error' && a.message.includes('npm-audit'))?.message ?? '';
      expect(failure).toMatch(/npm-audit: the audit of package-lock.json failed: HTTP 405\b.*\(an error, not 0 vulnerabilities\)/);
      expect(step.annotations.some((a) => a.properties['file'] === 'package-lock.json')).toBe(false);
      // The only "0 vulnerabilities" is in the failure's own words: "an error, not 0 vulnerabilities".
      expect(step.stdout + step.summary).not.toMatch(/(?<!not )\b0 vulnerabilit/i);
      expect(step.summary).toMatch(/npm-audit/);
    } finally {
      await registry.close();
    }
  }, STEP_TIMEOUT);

  it('Dependabot: every page of open alerts gates the run, annotated on the manifest line; the token is masked and appears nowhere else', async () => {
    const { readFile } = await import('node:fs/promises');
    const { paginatedRoute, startFakeGitHubApi } = await import('../helpers/fake-github-api.js');
    const { findSecretExposure } = await import('../helpers/secret-exposure.js');
    const example = JSON.parse(await readFile(DEPENDABOT_EXAMPLE, 'utf8')) as Record<string, unknown>[];
    // The example's open alert under four more numbers too, so a page cap of two needs three pages.
    const open = example.find((a) => a['state'] === 'open')!;
    const items = [...example, ...[2, 3, 4, 5].map((n) => ({ ...open, number: 100 + n }))];
    const holder: { api?: import('../helpers/fake-github-api.js').FakeGitHubApi } = {};
    const api = await startFakeGitHubApi([paginatedRoute(ALERTS_PATH, items, 2, () => holder.api!.url)], 20);
    holder.api = api;
    // A job of its own: every file under it was written by this step, and all of them are searched.
    const ownJob = await newJob({ sharedToolCache: true });
    try {
      const step = await runStep({
        bundle: 'sca',
        workspace: await dependabotWorkspace('dependabot'),
        job: ownJob,
        inputs: { tools: 'dependabot', token: GITHUB_TOKEN, 'fail-on': 'medium', cache: 'false', sbom: 'true' },
        env: { GITHUB_API_URL: api.url },
        timeoutMs: STEP_TIMEOUT
      });
      const alertRequests = api.requests.filter((r) => r.path.startsWith(ALERTS_PATH));
      expect(alertRequests.map((r) => r.path)).toEqual([
        `${ALERTS_PATH}?state=open&per_page=100`,
        `${ALERTS_PATH}?state=open&per_page=100&after=2`,
        `${ALERTS_PATH}?state=open&per_page=100&after=4`
      ]);
      // The token did reach GitHub, in the Authorization header only.
      expect(api.requests.every((r) => r.authorization === `token ${GITHUB_TOKEN}` && !r.path.includes(GITHUB_TOKEN))).toBe(true);
      expect(step.outputs['verdict']).toBe('fail');
      expect(step.exitCode).toBe(1);
      const onManifest = step.annotations.filter((a) => a.properties['file'] === 'path/to/requirements.txt');
      expect(onManifest.length).toBeGreaterThanOrEqual(1);
      for (const annotation of onManifest) {
        expect(annotation.properties['line']).toBe('3');
        expect(`${annotation.properties['title'] ?? ''} ${annotation.message}`).toContain('GHSA-8f4m-hccc-8qph');
        expect(annotation.message).toContain('upgrade ansible to 2.8.19');
      }
      // The example's dismissed django alert is not a finding.
      expect(step.stdout).not.toMatch(/django/i);
      expect(Number(step.outputs['medium'])).toBeGreaterThanOrEqual(1);

      const exposure = await findSecretExposure(step, GITHUB_TOKEN, path.dirname(ownJob.temp));
      expect(exposure.masked).toBe(true);
      for (const report of ['sarif-file', 'report-file', 'sbom-file']) expect(exposure.scannedFiles).toContain(step.outputs[report]);
      expect(exposure.scannedFiles.some((f) => path.basename(f) === 'output')).toBe(true);
      expect(exposure.places).toEqual([]);
    } finally {
      await api.close();
      await rm(path.dirname(ownJob.temp), { recursive: true, force: true });
    }
  }, STEP_TIMEOUT);

  it('Dependabot: a token that cannot read the alerts (403) is a named configuration error', async () => {
    const { startFakeGitHubApi } = await import('../helpers/fake-github-api.js');
    const api = await startFakeGitHubApi([() => ({ status: 403, body: { message: 'Resource not accessible by integration' } })], 10);
    try {
      const step = await runStep({
        bundle: 'sca',
        workspace: await dependabotWorkspace('dependabot-403'),
        job,
        inputs: { tools: 'dependabot', token: GITHUB_TOKEN, 'fail-on': 'medium', cache: 'false', checks: 'false' },
        env: { GITHUB_API_URL: api.url },
        timeoutMs: STEP_TIMEOUT
      });
      expect(api.requests.map((r) => r.path)).toEqual([`${ALERTS_PATH}?state=open&per_page=100`]);
      expect(step.outputs['verdict']).toBe('error');
      expect(step.exitCode).toBe(1);
      const failure = step.annotations.find((a) => a.command === 'error' && a.message.includes('Dependabot'))?.message ?? '';
      expect(failure).toMatch(/configuration/);
      expect(failure).toMatch(/token: the token cannot read secgate-tests\/example's Dependabot alerts \(HTTP 403: Resource not accessible by integration\).*security-events: read/);
      expect(step.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')).not.toContain(GITHUB_TOKEN);
    } finally {
      await api.close();
    }
  }, STEP_TIMEOUT);

  it('Snyk: the CLI from its committed lock, unable to reach its API, is a named error; the token is masked and appears nowhere else', async () => {
    const { findSecretExposure } = await import('../helpers/secret-exposure.js');
    const ownJob = await newJob({ sharedToolCache: true });
    try {
      const step = await runStep({
        bundle: 'sca',
        workspace: await workspaceCopy('snyk'),
        job: ownJob,
        inputs: { tools: 'snyk', 'snyk-token': SNYK_TOKEN, 'fail-on': 'high', cache: 'false', sbom: 'true', checks: 'false' },
        // A closed loopback port stands in for the Snyk API: this machine cannot reach it either.
        env: { SNYK_API: 'http://127.0.0.1:9/api' },
        timeoutMs: STEP_TIMEOUT
      });
      expect(step.outputs['verdict']).toBe('error');
      expect(step.exitCode).toBe(1);
      expect(step.stdout).toMatch(/with npm ci from the committed lockfile|snyk/);
      const failure = step.annotations.find((a) => a.command === 'error' && a.message.includes('snyk'))?.message ?? '';
      expect(failure).toMatch(/snyk: the test failed: .*ECONNREFUSED 127\.0\.0\.1:9 \(an error, not 0 vulnerabilities\)/);

      const exposure = await findSecretExposure(step, SNYK_TOKEN, path.dirname(ownJob.temp));
      expect(exposure.masked).toBe(true);
      for (const report of ['sarif-file', 'report-file', 'sbom-file']) expect(exposure.scannedFiles).toContain(step.outputs[report]);
      expect(exposure.places).toEqual([]);
    } finally {
      await rm(path.dirname(ownJob.temp), { recursive: true, force: true });
    }
  }, STEP_TIMEOUT);
});
