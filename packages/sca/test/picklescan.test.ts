/**
 * picklescan: the parser on its real output (fixtures/picklescan-1.0.5, see fixtures/README.md),
 * and the real tool, installed from its hash lock, on model files generated here.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryLogger, ToolInstaller, ToolOutputError, errorMessage, type InstalledTool } from '@secgate/core';
import { PICKLESCAN_SEVERITY, parsePicklescanOutput, picklescanAdapter } from '../src/adapters/picklescan.js';
import { discoverModelFiles, type ModelFile } from '../src/models.js';
import { CLEAN_FILES, CORRUPT_FILE, MALICIOUS_FILES, PAYLOAD_OPERATOR, writeModelFiles } from './helpers/model-files.js';
import { runRaw, withCacheLock } from '../../../test/helpers/tool-processes.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const FIXTURES = path.join(REPO_ROOT, 'packages', 'sca', 'test', 'fixtures', 'picklescan-1.0.5');
/** Where the fixtures were generated (picklescan prints absolute paths). */
const FIXTURE_DIR = '/tmp/secgate-model-fixture/models';
const SHA = 'ab'.repeat(32);

function fixtureFile(name: string, format: ModelFile['format'] = 'pickle'): ModelFile {
  return { path: `models/${name}`, absolute: `${FIXTURE_DIR}/${name}`, format, sha256: SHA };
}

function parseFixture(name: string): ReturnType<typeof parsePicklescanOutput> {
  return parsePicklescanOutput(readFileSync(path.join(FIXTURES, `${name}.txt`), 'utf8'), fixtureFile(name));
}

describe('picklescan output parser (real picklescan 1.0.5 output)', () => {
  it.each(MALICIOUS_FILES)('%s: one critical posix.system finding on the file, verdict unsafe', (name) => {
    const report = parseFixture(name);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({
      tool: 'picklescan',
      ruleId: PAYLOAD_OPERATOR,
      severity: 'critical',
      location: { path: `models/${name}` },
      identity: `${SHA}:${PAYLOAD_OPERATOR}`,
      tags: ['model', 'pickle'],
      cwe: ['CWE-502']
    });
    expect(report.findings[0]!.location!.startLine).toBeUndefined();
    expect(report.unchecked).toEqual([]);
    expect(report.inventory).toEqual([{ kind: 'machine-learning-model', name: `models/${name}`, path: `models/${name}`, sha256: SHA, verdict: 'unsafe' }]);
  });

  it.each(CLEAN_FILES)('%s: no finding, verdict clean', (name) => {
    const report = parseFixture(name);
    expect(report.findings).toEqual([]);
    expect(report.unchecked).toEqual([]);
    expect(report.inventory?.[0]?.verdict).toBe('clean');
  });

  it('a file that is not a pickle (picklescan counts it as scanned, with 0 globals) is unchecked, never clean', () => {
    const report = parseFixture(CORRUPT_FILE);
    expect(report.findings).toEqual([]);
    expect(report.unchecked).toEqual([
      { kind: 'file', name: `models/${CORRUPT_FILE}`, reason: expect.stringMatching(/^picklescan: not a pickle stream picklescan can read \(at position \d+/) }
    ]);
    expect(report.inventory?.[0]?.verdict).toBe('not-scanned');
  });

  it('a truncated torch zip (picklescan crashes with a traceback, exit 2) is unchecked with the exception, no machine path', () => {
    const report = parseFixture('truncated.pt');
    expect(report.unchecked).toEqual([
      { kind: 'file', name: 'models/truncated.pt', reason: 'picklescan: picklescan failed on it (zipfile.BadZipFile: File is not a zip file)' }
    ]);
    expect(report.inventory?.[0]?.verdict).toBe('not-scanned');
  });

  it('maps dangerous → critical and suspicious → low; a suspicious-only file stays clean', () => {
    expect(PICKLESCAN_SEVERITY).toEqual({ DANGEROUS: 'critical', SUSPICIOUS: 'low' });
    const text = [
      '----------- SCAN SUMMARY -----------',
      'Scanned files: 1',
      'Infected files: 0',
      'Suspicious globals: 2',
      'Dangerous globals: 0',
      'All globals found:',
      '  * sklearn.linear_model._base.LinearRegression - suspicious',
      '  * numpy.dtype - innocuous',
      '  * sklearn.linear_model._base.LinearRegression - suspicious'
    ].join('\n');
    const report = parsePicklescanOutput(text, fixtureFile('model.pkl'));
    expect(report.findings.map((f) => [f.ruleId, f.severity])).toEqual([['sklearn.linear_model._base.LinearRegression', 'low']]);
    expect(report.inventory?.[0]?.verdict).toBe('clean');
  });

  const malicious = readFileSync(path.join(FIXTURES, 'malicious.pkl.txt'), 'utf8');
  it.each([
    ['an empty output', '', /output is empty/],
    ['no summary', malicious.split('-----------')[0]!, /summary is missing/],
    ['an unknown line', `something else\n${malicious}`, /line 1 is not part of picklescan's documented output/],
    ['a global name with a newline (counts differ)', malicious.replace('  * posix.system - dangerous', '  * posix.system - innocuous\n  * x - innocuous'), /globals listed \(0 dangerous/],
    ['a summary count that is not a number', malicious.replace('Dangerous globals: 1', 'Dangerous globals: one'), /should be "Dangerous globals: <count>"/],
    ['a FOUND line for another file', malicious.replace(`${FIXTURE_DIR}/malicious.pkl:`, '/elsewhere/x.pkl:'), /line 1 is not part/]
  ])('%s is a ToolOutputError', (_what, text, message) => {
    expect(() => parsePicklescanOutput(text, fixtureFile('malicious.pkl'))).toThrow(ToolOutputError);
    expect(() => parsePicklescanOutput(text, fixtureFile('malicious.pkl'))).toThrow(message);
  });

  it('reads exit 2 as "let the output decide" and 1 as findings; others are errors', () => {
    const invocation = { args: [] };
    expect([0, 1, 2, 3, 127].map((code) => picklescanAdapter.exitMeaning(code, invocation))).toEqual(['clean', 'findings', 'clean', 'error', 'error']);
  });
});

describe('picklescan, the real tool on generated model files', () => {
  let root: string;
  let tool: InstalledTool | undefined;
  let files: ModelFile[] = [];
  const savedCache = process.env['RUNNER_TOOL_CACHE'];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'secgate-picklescan-'));
    await writeModelFiles(path.join(root, 'models'));
    const installer = new ToolInstaller({ logger: new MemoryLogger() });
    process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
    try {
      tool = await withCacheLock(SHARED_TOOL_CACHE, 15 * 60_000, () => installer.install(picklescanAdapter.install));
    } catch (error) {
      requireTool(false, `picklescan (install failed: ${errorMessage(error)})`);
    }
    files = await discoverModelFiles({ workspace: root, targets: ['.'], exclude: [], options: {} });
  }, 15 * 60_000);

  afterAll(async () => {
    if (savedCache === undefined) delete process.env['RUNNER_TOOL_CACHE'];
    else process.env['RUNNER_TOOL_CACHE'] = savedCache;
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function scan(file: ModelFile): Promise<{ code: number; report: ReturnType<typeof parsePicklescanOutput> }> {
    const invocation = (await picklescanAdapter.command(tool!, { workspace: root, targets: ['.'], exclude: [], options: {}, workDir: root, logger: new MemoryLogger() })) as {
      args: string[];
      data: { file: ModelFile };
    }[];
    const mine = invocation.find((i) => i.data.file.path === file.path)!;
    const run = await runRaw(tool!.command, [...tool!.baseArgs, ...mine.args], root);
    expect(picklescanAdapter.exitMeaning(run.code, mine)).not.toBe('error');
    return { code: run.code, report: parsePicklescanOutput(run.stdout, file) };
  }

  it('installs from the hash lock and runs as its console script (exit codes kept)', () => {
    if (!tool) return;
    expect(tool.version).toBe('1.0.5');
    expect(tool.baseArgs[0]).toMatch(/[/\\]picklescan$/);
  });

  it.each(MALICIOUS_FILES)('finds the os.system payload in %s: critical, exit 1', async (name) => {
    if (!tool) return;
    const { code, report } = await scan(files.find((f) => f.path === `models/${name}`)!);
    expect(code).toBe(1);
    expect(report.findings.map((f) => [f.ruleId, f.severity, f.location?.path])).toEqual([[PAYLOAD_OPERATOR, 'critical', `models/${name}`]]);
  });

  it.each(CLEAN_FILES)('reports %s clean: exit 0, no finding, nothing unchecked', async (name) => {
    if (!tool) return;
    const { code, report } = await scan(files.find((f) => f.path === `models/${name}`)!);
    expect([code, report.findings, report.unchecked]).toEqual([0, [], []]);
  });

  it('leaves a corrupt file unchecked (picklescan itself exits 0 and counts it as scanned)', async () => {
    if (!tool) return;
    const { code, report } = await scan(files.find((f) => f.path === `models/${CORRUPT_FILE}`)!);
    expect(code).toBe(0);
    expect(report.unchecked?.map((u) => u.name)).toEqual([`models/${CORRUPT_FILE}`]);
  });
});
