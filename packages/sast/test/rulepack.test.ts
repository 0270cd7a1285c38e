/**
 * The ML rulepack (rules/ml) under the real semgrep 1.185.0, installed through the product's
 * installer (PyPI, committed hash lock): its own `--test` annotations pass, the safe counterparts in
 * examples/ml-service are not flagged, and every rule fires on the vulnerable example.
 */
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { MemoryLogger, ToolInstaller, errorMessage, type InstalledTool } from '@secgate/core';
import { semgrepAdapter } from '@secgate/sast';
import { runRaw, withCacheLock } from '../../../test/helpers/tool-processes.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const RULES = path.join(REPO_ROOT, 'rules', 'ml');
/** Installs are keyed by tool and version, so one cache can serve every suite and every run. */
const TOOL_CACHE = SHARED_TOOL_CACHE;
const SLOW = 15 * 60_000;

let root: string;
let semgrep: InstalledTool | undefined;
let env: NodeJS.ProcessEnv;
const savedEnv = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-sast-rulepack-'));
  await mkdir(path.join(root, 'runner-temp'));
  process.env['RUNNER_TOOL_CACHE'] = TOOL_CACHE;
  process.env['RUNNER_TEMP'] = path.join(root, 'runner-temp');
  // No metrics, no version check, no settings written to the user's home.
  env = { ...process.env, SEMGREP_SEND_METRICS: 'off', SEMGREP_ENABLE_VERSION_CHECK: '0', SEMGREP_SETTINGS_FILE: path.join(root, 'settings.yml') };
  try {
    semgrep = await withCacheLock(TOOL_CACHE, SLOW, () => new ToolInstaller({ logger: new MemoryLogger() }).install(semgrepAdapter.install));
  } catch (error) {
    // Throws in CI; elsewhere the tests below return early with this reason printed.
    requireTool(false, `semgrep ${semgrepAdapter.install.defaultVersion} (install failed: ${errorMessage(error)})`);
  }
}, SLOW);

afterAll(async () => {
  for (const [name, value] of [['RUNNER_TOOL_CACHE', savedEnv.cache], ['RUNNER_TEMP', savedEnv.temp]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(root, { recursive: true, force: true });
});

/** Every rule id declared in rules/ml/*.yaml. */
async function declaredRuleIds(): Promise<string[]> {
  const files = (await readdir(RULES)).filter((f) => f.endsWith('.yaml'));
  const ids: string[] = [];
  for (const file of files) {
    const doc = parseYaml(await readFile(path.join(RULES, file), 'utf8')) as { rules: { id: string }[] };
    ids.push(...doc.rules.map((r) => r.id));
  }
  return ids.sort();
}

interface ScanOutput {
  results: { check_id: string; path: string; start: { line: number } }[];
  errors: unknown[];
}

async function scan(target: string): Promise<ScanOutput> {
  const tool = semgrep!;
  const result = await runRaw(
    tool.command,
    [...tool.baseArgs, 'scan', '--config', 'rules/ml', '--json', '--metrics=off', '--disable-version-check', target],
    REPO_ROOT,
    env
  );
  expect([result.code, result.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
  return JSON.parse(result.stdout) as ScanOutput;
}

/**
 * Rules whose targets (LangChain internals and tools, model-server clients, template engines) the
 * example service does not contain: their `--test` files and the ML corpus suite (ml-corpus.test.ts)
 * show them firing on real code.
 */
const NOT_IN_EXAMPLE = new Set([
  'secgate.ml.dynamic-code-exec',
  'secgate.ml.jinja2-template-injection',
  'secgate.ml.llm-tool-arg-to-datastore',
  'secgate.ml.llm-tool-code-exec',
  'secgate.ml.python-repl-exec',
  'secgate.ml.remote-response-code-exec'
]);

/** With a directory as --config, semgrep prefixes its path to the id (rules.ml.secgate.ml.x): match by suffix. */
const ruleId = (checkId: string): string => checkId.slice(checkId.indexOf('secgate.ml.'));

describe('ML rulepack under semgrep 1.185.0', () => {
  it('declares the 17 documented rules, one test file per rule file', async () => {
    const ids = await declaredRuleIds();
    expect(ids).toHaveLength(17);
    // Every rule id is in the README table.
    const readme = await readFile(path.join(RULES, 'README.md'), 'utf8');
    for (const id of ids) expect([id, readme.includes(`\`${id}\``)]).toEqual([id, true]);
    expect(ids.every((id) => id.startsWith('secgate.ml.'))).toBe(true);
    const files = await readdir(RULES);
    for (const yaml of files.filter((f) => f.endsWith('.yaml'))) expect(files).toContain(yaml.replace(/\.yaml$/, '.py'));
  });

  it('semgrep --test rules/ml/: every rule test passes', async () => {
    if (!semgrep) return;
    expect(semgrep.version).toBe('1.185.0');
    const result = await runRaw(
      semgrep.command,
      [...semgrep.baseArgs, '--test', '--metrics=off', '--disable-version-check', 'rules/ml/'],
      REPO_ROOT,
      env
    );
    expect([result.code, result.stdout]).toEqual([0, expect.stringContaining('All tests passed')]);
    const summary = /^(\d+)\/(\d+): ✓ All tests passed$/m.exec(result.stdout);
    expect(summary).not.toBeNull();
    const [passed, total] = [Number(summary![1]), Number(summary![2])];
    expect(passed).toBe(total);
    expect(total).toBeGreaterThanOrEqual((await declaredRuleIds()).length);
    expect(result.stdout).not.toMatch(/✖|failed/i);
  }, SLOW);

  it('the safe counterparts (examples/ml-service/safe_loaders.py) are not flagged', async () => {
    if (!semgrep) return;
    const output = await scan('examples/ml-service/safe_loaders.py');
    expect(output.errors).toEqual([]);
    expect(output.results).toEqual([]);
  }, SLOW);

  it('every rule with a target in examples/ml-service fires there, and only outside safe_loaders.py', async () => {
    if (!semgrep) return;
    const output = await scan('examples/ml-service');
    expect(output.errors).toEqual([]);
    const fired = new Map<string, number>();
    for (const r of output.results) fired.set(ruleId(r.check_id), (fired.get(ruleId(r.check_id)) ?? 0) + 1);
    const ids = await declaredRuleIds();
    const expected = ids.filter((id) => !NOT_IN_EXAMPLE.has(id));
    for (const id of expected) expect([id, (fired.get(id) ?? 0) > 0]).toEqual([id, true]);
    // Nothing outside the rulepack, nothing in the safe file.
    expect([...fired.keys()].sort()).toEqual(expected);
    expect(output.results.filter((r) => r.path.endsWith('safe_loaders.py'))).toEqual([]);
    // The committed parser fixture is this very scan (run from inside the example): still current?
    const fixture = JSON.parse(
      await readFile(path.join(REPO_ROOT, 'packages', 'sast', 'test', 'fixtures', 'semgrep-1.185.0.ml-service.json'), 'utf8')
    ) as ScanOutput;
    const keys = (o: ScanOutput, prefix: string): string[] =>
      o.results.map((r) => `${r.path.slice(prefix.length)}:${r.start.line}:${ruleId(r.check_id)}`).sort();
    expect(keys(output, 'examples/ml-service/')).toEqual(keys(fixture, ''));
  }, SLOW);
});
