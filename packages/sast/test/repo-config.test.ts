/**
 * The scanned repository's own tool configuration wins: bandit's `[tool.bandit]` and `# nosec`,
 * gitleaks' `.gitleaks.toml` allowlist and `.gitleaksignore`, and user Semgrep rules. Real tools,
 * installed through the product's installer into the shared test tool cache.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigurationError, MemoryLogger, ToolInstaller, runScan, type EffectivePolicy, type ScanResult } from '@secgate/core';
import { sastStage } from '@secgate/sast';
import { mirrorAvailable, mirrorRoot, startReleaseMirror, testLock, type ReleaseMirror } from '../../../test/helpers/release-mirror.js';
import { SHARED_TOOL_CACHE } from '../../../test/helpers/runner.js';

const POLICY: EffectivePolicy = { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] };
const TOKEN = 'ghp_Q8wLz3Xv7RkT2mN9pB4sY6cJ1hF5dG0aKeUi';
const HAVE_MIRROR = mirrorAvailable();
let mirror: ReleaseMirror | undefined;
let installer: ToolInstaller;
const saved = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };

beforeAll(async () => {
  process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
  process.env['RUNNER_TEMP'] = await mkdtemp(path.join(os.tmpdir(), 'secgate-repo-config-tmp-'));
  if (HAVE_MIRROR) mirror = await startReleaseMirror(mirrorRoot());
  installer = new ToolInstaller({ logger: new MemoryLogger(), lock: HAVE_MIRROR ? testLock() : undefined, mirrorUrl: mirror?.url });
});

afterAll(async () => {
  await mirror?.close();
  for (const [name, value] of [['RUNNER_TOOL_CACHE', saved.cache], ['RUNNER_TEMP', saved.temp]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

async function workspace(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-repo-config-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

function scan(dir: string, tools: string[], options: Record<string, string> = {}): Promise<ScanResult> {
  return runScan(
    {
      stages: [sastStage],
      workspace: dir,
      targets: ['.'],
      exclude: [],
      tools,
      policy: POLICY,
      options,
      timeoutsMs: {},
      now: new Date(),
      tempDir: path.join(process.env['RUNNER_TEMP']!, path.basename(dir))
    },
    { installer, logger: new MemoryLogger() }
  );
}

const rules = (result: ScanResult): string[] => result.findings.map((f) => `${f.location?.path}:${f.location?.startLine}:${f.ruleId}`).sort();

const SHELL = 'import subprocess\nsubprocess.call(a, shell=True)\nsubprocess.call(b, shell=True)  # nosec B602\n';

describe("the repository's own tool configuration", () => {
  it('bandit honours # nosec and [tool.bandit] skips in pyproject.toml', async () => {
    const plain = await scan(await workspace({ 'app.py': SHELL }), ['bandit']);
    expect(plain.verdict).toBe('fail');
    expect(rules(plain)).toEqual(['app.py:1:B404', 'app.py:2:B602']);
    const skipped = await scan(await workspace({ 'app.py': SHELL, 'pyproject.toml': '[tool.bandit]\nskips = ["B602", "B404"]\n' }), ['bandit']);
    expect(skipped.tools[0]!.status).toBe('ok');
    expect(rules(skipped)).toEqual([]);
  }, 300_000);

  it('gitleaks honours .gitleaksignore fingerprints and a .gitleaks.toml allowlist', async () => {
    if (!HAVE_MIRROR) return;
    const files = { 'a/settings.py': `GITHUB_TOKEN = "${TOKEN}"\n`, 'b/settings.py': `GITHUB_TOKEN = "${TOKEN}"\n` };
    const plain = await scan(await workspace(files), ['gitleaks'], { 'secrets-scan': 'tree' });
    expect(rules(plain)).toEqual(['a/settings.py:1:github-pat', 'b/settings.py:1:github-pat']);
    const ignored = await scan(await workspace({ ...files, '.gitleaksignore': 'a/settings.py:github-pat:1\n' }), ['gitleaks'], { 'secrets-scan': 'tree' });
    expect(rules(ignored)).toEqual(['b/settings.py:1:github-pat']);
    const toml = "[extend]\nuseDefault = true\n\n[allowlist]\ndescription = 'fixtures'\npaths = ['''^b/''']\n";
    const allowed = await scan(await workspace({ ...files, '.gitleaks.toml': toml }), ['gitleaks'], { 'secrets-scan': 'tree' });
    expect(rules(allowed)).toEqual(['a/settings.py:1:github-pat']);
  }, 300_000);

  it('semgrep runs user rule files next to the ML rulepack, and refuses registry configs', async () => {
    const rule = [
      'rules:',
      '  - id: no-print-of-api-key',
      '    languages: [python]',
      '    severity: HIGH',
      '    message: do not print the API key',
      '    metadata: { cwe: ["CWE-532: Insertion of Sensitive Information into Log File"] }',
      '    pattern: print(API_KEY)',
      ''
    ].join('\n');
    const dir = await workspace({ 'app.py': 'import torch\nAPI_KEY = load()\nprint(API_KEY)\nm = torch.load("m.pt")\n', 'ci/rules.yml': rule });
    const result = await scan(dir, ['semgrep'], { 'semgrep-rules': 'ci/rules.yml' });
    expect(result.tools[0]!.status).toBe('ok');
    expect(rules(result)).toEqual(['app.py:3:no-print-of-api-key', 'app.py:4:secgate.ml.torch-load-unsafe']);
    expect(result.findings.find((f) => f.ruleId === 'no-print-of-api-key')).toMatchObject({ severity: 'high', cwe: ['CWE-532'] });
    const registry = await scan(dir, ['semgrep'], { 'semgrep-rules': 'p/python' });
    expect(registry.verdict).toBe('error');
    expect(registry.tools[0]!.error).toBeInstanceOf(ConfigurationError);
    expect(registry.tools[0]!.error!.message).toContain("'p/python' is a registry or remote config");
  }, 600_000);
});
