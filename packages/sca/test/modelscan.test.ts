/**
 * modelscan: the parser on its real JSON (fixtures/modelscan-0.8.8, see fixtures/README.md), and
 * the real tool, installed from its hash lock, on model files generated here — including what it
 * misses (a legacy torch file) and what it cannot open without its tensorflow extra.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryLogger, ToolInstaller, ToolOutputError, errorMessage, type InstalledTool } from '@secgate/core';
import { MODELSCAN_SEVERITY, modelscanAdapter, parseModelscanReport } from '../src/adapters/modelscan.js';
import { discoverModelFiles, type ModelFile } from '../src/models.js';
import { CLEAN_FILES, CORRUPT_FILE, MALICIOUS_FILES, PAYLOAD_OPERATOR, writeKerasStub, writeModelFiles } from './helpers/model-files.js';
import { runRaw, withCacheLock } from '../../../test/helpers/tool-processes.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const FIXTURES = path.join(REPO_ROOT, 'packages', 'sca', 'test', 'fixtures', 'modelscan-0.8.8');
/** Where the fixtures were generated. */
const FIXTURE_DIR = '/tmp/secgate-model-fixture/models';
const SHA = 'ab'.repeat(32);

function fixtureFile(name: string, format: ModelFile['format'] = 'pickle'): ModelFile {
  return { path: `models/${name}`, absolute: `${FIXTURE_DIR}/${name}`, format, sha256: SHA };
}

function parseFixture(name: string, format: ModelFile['format'] = 'pickle'): ReturnType<typeof parseModelscanReport> {
  return parseModelscanReport(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'), fixtureFile(name, format));
}

/** Measured with modelscan 0.8.8: the legacy torch file's payload (4th pickle) is not seen. */
const MISSED_BY_MODELSCAN = 'malicious-legacy.pth';
const FOUND_BY_MODELSCAN = MALICIOUS_FILES.filter((name) => name !== MISSED_BY_MODELSCAN);

describe('modelscan report parser (real modelscan 0.8.8 JSON)', () => {
  it.each(FOUND_BY_MODELSCAN)('%s: one critical posix.system finding on the file, verdict unsafe', (name) => {
    const report = parseFixture(name);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({
      tool: 'modelscan',
      ruleId: PAYLOAD_OPERATOR,
      severity: 'critical',
      location: { path: `models/${name}` },
      identity: `${SHA}:${PAYLOAD_OPERATOR}`,
      cwe: ['CWE-502']
    });
    expect(report.findings[0]!.location!.startLine).toBeUndefined();
    expect(report.unchecked).toEqual([]);
    expect(report.inventory).toEqual([{ kind: 'machine-learning-model', name: `models/${name}`, path: `models/${name}`, sha256: SHA, verdict: 'unsafe' }]);
  });

  it('names the zip member of a torch zip in the message', () => {
    expect(parseFixture('malicious-zip.pt').findings[0]!.message).toContain('(archive/data.pkl)');
  });

  it(`misses the payload of ${MISSED_BY_MODELSCAN} (4th pickle of a legacy torch file): scanned, no finding — picklescan is the one that sees it`, () => {
    const report = parseFixture(MISSED_BY_MODELSCAN);
    expect([report.findings, report.unchecked, report.inventory?.[0]?.verdict]).toEqual([[], [], 'clean']);
  });

  it.each(CLEAN_FILES)('%s: no finding, nothing unchecked (torch zip members it does not scan are expected), verdict clean', (name) => {
    const report = parseFixture(name);
    expect([report.findings, report.unchecked, report.inventory?.[0]?.verdict]).toEqual([[], [], 'clean']);
  });

  it('a corrupt pickle (exit 3, a PICKLE_GENOPS error) is unchecked, never clean', () => {
    const report = parseFixture(CORRUPT_FILE);
    expect(report.unchecked).toEqual([{ kind: 'file', name: `models/${CORRUPT_FILE}`, reason: expect.stringMatching(/^modelscan: PICKLE_GENOPS: Parsing error/) }]);
    expect(report.inventory?.[0]?.verdict).toBe('not-scanned');
  });

  it('a truncated torch zip (skipped as BAD_ZIP) is unchecked', () => {
    const report = parseFixture('truncated.pt', 'pytorch');
    expect(report.unchecked?.[0]?.reason).toMatch(/BAD_ZIP: Skipping zip file due to error: File is not a zip file/);
  });

  it('a .h5 file (a DEPENDENCY error without the tensorflow extra) is unchecked: "needs modelscan[tensorflow]"', () => {
    const report = parseFixture('model.h5', 'keras-h5');
    expect(report.unchecked).toEqual([{ kind: 'file', name: 'models/model.h5', reason: 'modelscan: needs modelscan[tensorflow], which secgate does not install' }]);
    expect(report.inventory?.[0]?.verdict).toBe('not-scanned');
  });

  it('maps its four severities one to one', () => {
    expect(MODELSCAN_SEVERITY).toEqual({ CRITICAL: 'critical', HIGH: 'high', MEDIUM: 'medium', LOW: 'low' });
  });

  it('warns when the repository\'s modelscan-settings.toml was used', () => {
    const report = parseModelscanReport(readFileSync(path.join(FIXTURES, 'clean.pkl.json'), 'utf8'), fixtureFile('clean.pkl'), { repoSettings: true });
    expect(report.warnings).toEqual([expect.stringContaining('modelscan-settings.toml')]);
  });

  const malicious = JSON.parse(readFileSync(path.join(FIXTURES, 'malicious.pkl.json'), 'utf8')) as {
    summary: Record<string, unknown> & { total_issues_by_severity: Record<string, number> };
    issues: Record<string, unknown>[];
  };
  const mutate = (change: (r: typeof malicious) => void): string => {
    const copy = structuredClone(malicious);
    change(copy);
    return JSON.stringify(copy);
  };
  it.each([
    ['an empty report', '', /JSON report is empty/],
    ['an unknown severity word', mutate((r) => (r.issues[0]!['severity'] = 'SEVERE')), /issues\[0\]\.severity is "SEVERE"/],
    ['an issue count that differs from the list', mutate((r) => (r.summary['total_issues'] = 2)), /summary\.total_issues is 2/],
    ['a severity count that differs from the list', mutate((r) => (r.summary.total_issues_by_severity['CRITICAL'] = 0)), /total_issues_by_severity\.CRITICAL is 0/],
    ['an issue for another file', mutate((r) => (r.issues[0]!['source'] = 'other.pkl')), /issues\[0\]\.source names "other\.pkl"/],
    ['a missing errors array', mutate((r) => delete (r as Record<string, unknown>)['errors']), /errors is missing/]
  ])('%s is a ToolOutputError', (_what, text, message) => {
    expect(() => parseModelscanReport(text, fixtureFile('malicious.pkl'))).toThrow(ToolOutputError);
    expect(() => parseModelscanReport(text, fixtureFile('malicious.pkl'))).toThrow(message);
  });

  it('gates on the report, not the exit code: 2 (errors, maybe with issues) and 3 (nothing scanned) go to the parser', () => {
    const invocation = { args: [] };
    expect([0, 1, 2, 3, 4].map((code) => modelscanAdapter.exitMeaning(code, invocation))).toEqual(['clean', 'findings', 'clean', 'clean', 'error']);
  });
});

describe('modelscan, the real tool on generated model files', () => {
  let root: string;
  let tool: InstalledTool | undefined;
  let files: ModelFile[] = [];
  const savedCache = process.env['RUNNER_TOOL_CACHE'];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'secgate-modelscan-'));
    await writeModelFiles(path.join(root, 'models'));
    await writeKerasStub(path.join(root, 'models', 'model.h5'));
    const installer = new ToolInstaller({ logger: new MemoryLogger() });
    process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
    try {
      tool = await withCacheLock(SHARED_TOOL_CACHE, 15 * 60_000, () => installer.install(modelscanAdapter.install));
    } catch (error) {
      requireTool(false, `modelscan (install failed: ${errorMessage(error)})`);
    }
    files = await discoverModelFiles({ workspace: root, targets: ['.'], exclude: [], options: {} });
  }, 15 * 60_000);

  afterAll(async () => {
    if (savedCache === undefined) delete process.env['RUNNER_TOOL_CACHE'];
    else process.env['RUNNER_TOOL_CACHE'] = savedCache;
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function scan(name: string): Promise<{ code: number; report: ReturnType<typeof parseModelscanReport> }> {
    const workDir = await mkdtemp(path.join(root, 'work-'));
    const invocations = (await modelscanAdapter.command(tool!, { workspace: root, targets: ['.'], exclude: [], options: {}, workDir, logger: new MemoryLogger() })) as {
      args: string[];
      reportFile: string;
      data: { file: ModelFile };
    }[];
    const mine = invocations.find((i) => i.data.file.path === `models/${name}`)!;
    const run = await runRaw(tool!.command, [...tool!.baseArgs, ...mine.args], root);
    expect(modelscanAdapter.exitMeaning(run.code, mine)).not.toBe('error');
    return { code: run.code, report: parseModelscanReport(readFileSync(mine.reportFile, 'utf8'), mine.data.file) };
  }

  it('installs from the hash lock (numpy below 2.3, which its .npy scanner needs)', async () => {
    if (!tool) return;
    expect(tool.version).toBe('0.8.8');
    const numpy = await runRaw(tool.command, ['-c', 'import numpy; print(numpy.__version__)'], root);
    expect(numpy.stdout.trim()).toBe('2.2.6');
    expect(files.map((f) => f.path)).toContain('models/model.h5');
  });

  it.each(FOUND_BY_MODELSCAN)('finds the os.system payload in %s: critical, exit 1', async (name) => {
    if (!tool) return;
    const { code, report } = await scan(name);
    expect(code).toBe(1);
    expect(report.findings.map((f) => [f.ruleId, f.severity, f.location?.path])).toEqual([[PAYLOAD_OPERATOR, 'critical', `models/${name}`]]);
  });

  it(`misses ${MISSED_BY_MODELSCAN}, as measured (exit 0, no finding)`, async () => {
    if (!tool) return;
    const { code, report } = await scan(MISSED_BY_MODELSCAN);
    expect([code, report.findings, report.unchecked]).toEqual([0, [], []]);
  });

  it.each(CLEAN_FILES)('reports %s clean: exit 0, no finding, nothing unchecked', async (name) => {
    if (!tool) return;
    const { code, report } = await scan(name);
    expect([code, report.findings, report.unchecked]).toEqual([0, [], []]);
  });

  it('leaves a corrupt pickle and an .h5 (no tensorflow extra) unchecked, with exit 3', async () => {
    if (!tool) return;
    for (const name of [CORRUPT_FILE, 'model.h5']) {
      const { code, report } = await scan(name);
      expect([name, code, report.unchecked?.map((u) => u.name)]).toEqual([name, 3, [`models/${name}`]]);
    }
  });
});
