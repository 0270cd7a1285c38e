import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { buildSarif, type EvaluatedFinding, type ScanResult, type ToolRun } from '@secgate/core';
import { commitAll, initRepo } from '../helpers/git-repo.js';
import { CORRUPT_FILE, MALICIOUS_FILES, writeModelFiles } from '../../packages/sca/test/helpers/model-files.js';
import { startOsvApi, type OsvApi } from '../helpers/osv-api.js';
import { buildOfflineDb, type OfflineDb } from '../helpers/osv-offline-db.js';
import { mirrorAvailable, mirrorRoot, startReleaseMirror, testLock, type ReleaseMirror } from '../helpers/release-mirror.js';
import { newJob, requireTool, runStep, REPO_ROOT } from '../helpers/runner.js';
import { sarifSchemaErrors } from '../helpers/sarif-schema.js';

// Microsoft's SARIF SDK validator (npm @microsoft/sarif-multitool, a self-contained Linux binary)
// with the SARIF and GitHub ingestion rule sets, on the SARIF the real sast bundle writes and on
// SARIF built from every shape of result. Its findings are read from its own SARIF output.

const execFileAsync = promisify(execFile);
const require = createRequire(import.meta.url);

function multitoolPath(): string | undefined {
  try {
    const binary = path.join(path.dirname(require.resolve('@microsoft/sarif-multitool-linux/package.json')), 'Sarif.Multitool');
    return existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

interface ValidatorFinding {
  level: string;
  ruleId: string;
  where: string;
}

interface ValidatorLog {
  runs: {
    tool: { driver: { rules?: { id: string; defaultConfiguration?: { level?: string } }[] } };
    invocations?: { executionSuccessful: boolean; toolExecutionNotifications?: { level?: string; message: { text?: string } }[] }[];
    results?: { ruleId: string; ruleIndex?: number; level?: string; message: { id?: string; text?: string; arguments?: string[] } }[];
  }[];
}

/** Runs `Sarif.Multitool validate --rule-kind Gh;Sarif` and returns its results with their effective level. */
async function validate(multitool: string, sarifFile: string): Promise<ValidatorFinding[]> {
  const out = path.join(path.dirname(sarifFile), `${path.basename(sarifFile)}.validation.sarif`);
  await execFileAsync(multitool, ['validate', '--rule-kind', 'Gh;Sarif', '--level', 'Error;Warning;Note', '--output', out, sarifFile], {
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
    // The binary is a self-contained .NET app: no globalization data on slim images.
    env: { ...process.env, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1' }
  });
  const log = JSON.parse(await readFile(out, 'utf8')) as ValidatorLog;
  expect(log.runs).toHaveLength(1);
  const run = log.runs[0]!;
  // The validator itself must have run cleanly, or "no results" would mean nothing.
  expect(run.invocations?.[0]?.executionSuccessful).toBe(true);
  expect((run.invocations?.[0]?.toolExecutionNotifications ?? []).filter((n) => n.level === 'error')).toEqual([]);
  const rules = run.tool.driver.rules ?? [];
  return (run.results ?? []).map((r) => ({
    // SARIF §3.27.10: a result without `level` takes its rule's default, and `warning` without one.
    level: r.level ?? rules[r.ruleIndex ?? -1]?.defaultConfiguration?.level ?? 'warning',
    ruleId: r.ruleId,
    where: r.message.arguments?.join(' | ') ?? r.message.text ?? ''
  }));
}

const notNotes = (findings: ValidatorFinding[]): ValidatorFinding[] => findings.filter((f) => f.level !== 'note' && f.level !== 'none');

let counter = 0;
function ef(overrides: Partial<EvaluatedFinding> = {}): EvaluatedFinding {
  counter++;
  const tool = overrides.tool ?? 'bandit';
  const ruleId = overrides.ruleId ?? 'B602';
  return {
    tool,
    ruleId,
    title: 'B602 subprocess_popen_with_shell_equals_true',
    message: 'subprocess call with shell=True identified, security issue.',
    severity: 'high',
    confidence: 'high',
    location: { path: 'src/app.py', startLine: counter, startColumn: 5, endColumn: 30 },
    cwe: ['CWE-78'],
    helpUri: 'https://bandit.readthedocs.io/en/1.9.4/plugins/b602_subprocess_popen_with_shell_equals_true.html',
    fingerprint: counter.toString(16).padStart(32, '0'),
    snippet: 'subprocess.run(cmd, shell=True)',
    sources: [{ tool, ruleId }],
    state: { kind: 'active' },
    isNew: true,
    reported: true,
    ...overrides
  };
}

function toolRun(tool: string, displayName: string, version: string): ToolRun {
  return { stage: 'sast', tool, displayName, version, status: 'ok', findingCount: 0, warnings: [], installMs: 0, runMs: 0 };
}

describe('SARIF validator (Sarif.Multitool, rule kinds Gh;Sarif)', () => {
  const multitool = multitoolPath();
  const available = requireTool(multitool !== undefined, 'the SARIF validator (@microsoft/sarif-multitool-linux, npm ci)');
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-sarif-validator-'));
  });

  it('reports the problems it is meant to catch (the check is not blind)', async () => {
    if (!available) return;
    // The two defects the stage had: an empty %SRCROOT% base and a rule name equal to its id.
    const bad = {
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 'x', rules: [{ id: 'R1', name: 'R1', shortDescription: { text: 't' }, fullDescription: { text: 't' }, help: { text: 'h' } }] } },
          originalUriBaseIds: { '%SRCROOT%': { uri: '' } },
          results: [
            {
              ruleId: 'R1',
              ruleIndex: 0,
              message: { text: 'm' },
              locations: [{ physicalLocation: { artifactLocation: { uri: 'a.py', uriBaseId: '%SRCROOT%' }, region: { startLine: 1 } } }]
            }
          ]
        }
      ]
    };
    const file = path.join(dir, 'bad.sarif');
    await writeFile(file, JSON.stringify(bad));
    const found = notNotes(await validate(multitool!, file));
    expect(found.filter((f) => f.ruleId === 'SARIF1004' && f.level === 'error').length).toBeGreaterThan(0);
    expect(found.filter((f) => f.ruleId === 'SARIF1001' && f.level === 'warning')).toHaveLength(1);
  });

  it('accepts SARIF with every shape of result: 0 errors, 0 warnings', async () => {
    if (!available) return;
    const findings = [
      ef(),
      ef({ severity: 'critical', tool: 'semgrep', ruleId: 'rules.ml.secgate.ml.llm-output-injection', sources: [{ tool: 'semgrep', ruleId: 'rules.ml.secgate.ml.llm-output-injection' }], cwe: ['CWE-94', 'CWE-78'] }),
      // merged from two tools, multi-line
      ef({
        tool: 'semgrep',
        ruleId: 'secgate.ml.yaml-unsafe-load',
        sources: [
          { tool: 'semgrep', ruleId: 'secgate.ml.yaml-unsafe-load' },
          { tool: 'bandit', ruleId: 'B506' }
        ],
        location: { path: 'model loader/ü#1.py', startLine: 20, endLine: 23, startColumn: 9 }
      }),
      ef({ state: { kind: 'suppressed', reason: 'reviewed: constant command', owner: '@sec', expires: '2099-12-31', entry: 0 } }),
      ef({ isNew: false, state: { kind: 'baseline' } }),
      ef({ state: { kind: 'outside-changed-lines' } }),
      // a secret: no snippet
      ef({ tool: 'gitleaks', ruleId: 'aws-access-token', severity: 'high', sensitive: true, snippet: undefined, cwe: ['CWE-798'], helpUri: undefined }),
      ef({ tool: 'git-secrets', ruleId: 'prohibited-pattern', sensitive: true, snippet: undefined, location: { path: 'settings.py', startLine: 15 } }),
      // a package finding without a line, a file-level finding, and one with no file at all
      ef({ tool: 'semgrep', ruleId: 'pkg-vuln', location: { path: 'requirements.txt' }, package: { name: 'torch', version: '2.5.1', ecosystem: 'PyPI', fixedVersions: ['2.6.0'] }, cve: ['CVE-2025-32434'], snippet: undefined }),
      ef({ tool: 'semgrep', ruleId: 'file-level', severity: 'low', location: { path: 'Dockerfile' }, confidence: undefined, snippet: undefined }),
      ef({ tool: 'semgrep', ruleId: 'no-location', severity: 'medium', location: undefined, snippet: undefined }),
      ef({ severity: 'info', ruleId: 'B101', cwe: undefined, tags: ['assert_used'] }),
      ef({ severity: 'low', reported: false })
    ];
    const result: ScanResult = {
      stages: ['sast'],
      workspace: path.join(dir, 'work space'),
      tools: [
        toolRun('bandit', 'Bandit', '1.9.4'),
        toolRun('semgrep', 'Semgrep', '1.185.0'),
        toolRun('gitleaks', 'Gitleaks', '8.30.0'),
        toolRun('git-secrets', 'git-secrets', '1.3.0'),
        { ...toolRun('trivy', 'Trivy', '0.60.0'), status: 'skipped', skipReason: 'not selected' }
      ],
      findings,
      blocking: [],
      ledger: { expired: [], expiringSoon: [], unused: [] },
      policy: { failOn: 'high', reportSeverity: 'low', newOnly: 'off', exceptions: [] },
      verdict: 'fail',
      errors: [],
      durationMs: 1
    };
    const build = buildSarif(result);
    expect(build.unlocated).toBe(1);
    expect(sarifSchemaErrors(JSON.parse(build.text))).toEqual([]);
    const file = path.join(dir, 'shapes.sarif');
    await writeFile(file, build.text);
    const found = await validate(multitool!, file);
    expect(notNotes(found)).toEqual([]);
    // Every located, reported finding is in the file (the validator saw them all).
    expect(build.log.runs.reduce((n, r) => n + (r.results?.length ?? 0), 0)).toBe(findings.filter((f) => f.reported && f.location).length);
  });

  describe('the SARIF of the real dist/sast bundle on examples/ml-service, all four tools', () => {
    let mirror: ReleaseMirror | undefined;
    afterAll(async () => {
      await mirror?.close();
    });

    it('has 0 errors and 0 warnings', async () => {
      if (!available || !mirrorAvailable()) return;
      const sums = JSON.parse(await readFile(path.join(mirrorRoot(), 'SHA256SUMS.json'), 'utf8')) as Record<string, string>;
      mirror = await startReleaseMirror(mirrorRoot());
      const workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-sarif-stage-'));
      await cp(path.join(REPO_ROOT, 'examples', 'ml-service'), workspace, { recursive: true });
      await initRepo(workspace);
      await commitAll(workspace, 'ml-service example');
      const step = await runStep({
        bundle: 'sast',
        workspace,
        job: await newJob({ sharedToolCache: true }),
        inputs: {
          tools: 'bandit,semgrep,gitleaks,git-secrets',
          'tool-versions': `gitleaks=8.30.0@${sums['gitleaks/8.30.0/linux-x64']},git-secrets=1.3.0@${sums['git-secrets/1.3.0/any']}`,
          'mirror-url': mirror.url,
          'fail-on': 'high'
        },
        timeoutMs: 300_000
      });
      expect(step.outputs['verdict']).toBe('fail');
      const sarifFile = step.outputs['sarif-file'];
      expect(sarifFile).toBeTruthy();
      const log = JSON.parse(await readFile(sarifFile!, 'utf8')) as {
        runs: { tool: { driver: { name: string } }; results: { properties?: { sources?: string[] } }[] }[];
      };
      expect(sarifSchemaErrors(log)).toEqual([]);
      // All four tools ran and reported: the validator checks real results of each (git-secrets' all
      // merge into gitleaks' findings on the same lines, so its run may be empty; its sources are not).
      expect(log.runs.map((r) => r.tool.driver.name).sort()).toEqual(['Bandit', 'Semgrep', 'git-secrets', 'gitleaks']);
      const sourceTools = new Set(log.runs.flatMap((r) => r.results.flatMap((x) => (x.properties?.sources ?? []).map((s) => s.split(':')[0]))));
      expect([...sourceTools].sort()).toEqual(['bandit', 'git-secrets', 'gitleaks', 'semgrep']);
      const found = await validate(multitool!, sarifFile!);
      expect(notNotes(found)).toEqual([]);
    }, 360_000);
  });

  describe('the SARIF of the real dist/sca bundle: pip-audit + osv-scanner findings on manifest lines, model-file findings', () => {
    let mirror: ReleaseMirror | undefined;
    let api: OsvApi | undefined;
    let db: OfflineDb | undefined;
    afterAll(async () => {
      await mirror?.close();
      await api?.close();
      if (db) await rm(db.dir, { recursive: true, force: true });
    });

    it('has 0 errors and 0 warnings', async () => {
      if (!available || !requireTool(mirrorAvailable(), 'the loopback release mirror (scripts/tools/build-mirror.sh) for osv-scanner')) return;
      const digest = testLock().binary['osv-scanner']?.['2.6.0']?.['linux-x64'];
      if (!digest) throw new Error('the release mirror has no osv-scanner 2.6.0: run scripts/tools/build-mirror.sh');
      mirror = await startReleaseMirror(mirrorRoot());
      api = await startOsvApi({ maxRequests: 5_000 });
      db = await buildOfflineDb({ ecosystems: ['PyPI'] });
      const workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-sarif-sca-'));
      await cp(path.join(REPO_ROOT, 'packages', 'sca', 'test', 'fixtures', 'ml-project'), workspace, { recursive: true });
      // Generated, never loaded (make-model-files.py); the corrupt one would make the verdict error.
      await writeModelFiles(path.join(workspace, 'models'));
      await rm(path.join(workspace, 'models', CORRUPT_FILE));
      const step = await runStep({
        bundle: 'sca',
        workspace,
        job: await newJob({ sharedToolCache: true }),
        inputs: {
          tools: 'pip-audit,osv-scanner,modelscan,picklescan',
          'osv-url': api.url,
          'osv-offline-db': db.dir,
          'tool-versions': `osv-scanner=2.6.0@${digest}`,
          'mirror-url': mirror.url,
          'fail-on': 'high',
          cache: 'false'
        },
        timeoutMs: 600_000
      });
      expect(step.outputs['verdict']).toBe('fail');
      const sarifFile = step.outputs['sarif-file'];
      expect(sarifFile).toBeTruthy();
      const log = JSON.parse(await readFile(sarifFile!, 'utf8')) as {
        runs: { tool: { driver: { name: string } }; results: { locations?: { physicalLocation?: { artifactLocation?: { uri?: string } } }[]; properties?: { sources?: string[] } }[] }[];
      };
      expect(sarifSchemaErrors(log)).toEqual([]);
      const results = log.runs.flatMap((r) => r.results);
      const uris = results.map((r) => r.locations?.[0]?.physicalLocation?.artifactLocation?.uri ?? '');
      // Both shapes are in the file: package findings on requirements.txt, model-file findings; merged sources too.
      expect(uris.filter((u) => u === 'requirements.txt').length).toBeGreaterThan(0);
      expect(uris.filter((u) => u.startsWith('models/')).length).toBe(MALICIOUS_FILES.length);
      const sourceTools = new Set(results.flatMap((r) => (r.properties?.sources ?? []).map((s) => s.split(':')[0])));
      expect([...sourceTools].sort()).toEqual(['modelscan', 'osv-scanner', 'picklescan', 'pip-audit']);
      // The model-file findings themselves carry no line (a model file is binary).
      const report = JSON.parse(await readFile(step.outputs['report-file']!, 'utf8')) as { findings: { tags?: string[]; location?: { startLine?: number } }[] };
      const models = report.findings.filter((f) => f.tags?.includes('model'));
      expect(models).toHaveLength(MALICIOUS_FILES.length);
      for (const f of models) expect(f.location?.startLine).toBeUndefined();
      const found = await validate(multitool!, sarifFile!);
      expect(notNotes(found)).toEqual([]);
    }, 660_000);
  });
});
