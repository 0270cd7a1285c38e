/**
 * garak: settings and generator config from the inputs (no key on disk), the parser and gate on
 * real garak 0.17.1 reports (fixtures/garak-0.17.1, see its README), and real garak, installed from
 * its lean hash lock, against the loopback LLM stubs: vulnerable red, hardened green, wrong key and
 * 429 storm named failures, the key nowhere in output or files.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigurationError, MemoryLogger, TOOLS_LOCK, ToolFailureError, ToolInstaller, errorMessage, requirementSet, runTool, type InstalledTool, type ParsedReport, type ToolContext } from '@secgate/core';
import {
  FAST_PROBES,
  GARAK_VERSION,
  estimateRequests,
  garakAdapter,
  garakStderrFailure,
  gateGarakReport,
  generatorConfig,
  readGarakHitlog,
  readGarakReport,
  readGarakSettings
} from '../src/adapters/garak.js';
import { startLlmStub, type LlmStub, type LlmStubOptions } from '../../../test/helpers/llm-stub.js';
import { withCacheLock } from '../../../test/helpers/tool-processes.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const FIXTURES = path.join(REPO_ROOT, 'packages', 'adversarial', 'test', 'fixtures', `garak-${GARAK_VERSION}`);
const LOCK_FILE = path.join(REPO_ROOT, 'packages', 'core', 'src', 'install', 'locks', `garak-${GARAK_VERSION}.txt`);
const KEY = 'sk-garak-planted-7f3a9c2e51';
const BASE = { mode: 'llm', target: 'http://127.0.0.1:9/v1/chat/completions' };

const FIXTURE_DATA = {
  probes: ['promptinject.HijackHateHumans', 'encoding.InjectBase64', 'dan.Dan_11_0', 'latentinjection.LatentInjectionFactSnippetLegal', 'grandma.Win10'],
  maxAttackSuccessRate: 0,
  estimatedRequests: 11,
  maxQueries: 100,
  promptCap: 2,
  generations: 1
};

function fixture(name: string): string {
  return readFileSync(path.join(FIXTURES, name), 'utf8');
}

describe('garak settings and generator config', () => {
  it('fast profile: OpenAI chat shape, $KEY in the header, no key anywhere in the config', () => {
    const settings = readGarakSettings({ ...BASE, 'api-key': KEY, model: 'gpt-stub' });
    expect(settings.probes).toEqual(FAST_PROBES);
    const config = JSON.stringify(generatorConfig(settings));
    expect(config).not.toContain(KEY);
    expect(generatorConfig(settings)).toMatchObject({
      rest: {
        RestGenerator: {
          key_env_var: 'SECGATE_TARGET_API_KEY',
          headers: { Authorization: 'Bearer $KEY' },
          req_template_json_object: { model: 'gpt-stub', messages: [{ role: 'user', content: '$INPUT' }] },
          response_json_field: '$.choices[0].message.content'
        }
      }
    });
    expect(settings.estimatedRequests).toBe(estimateRequests(FAST_PROBES, settings.promptCap, settings.generations));
    expect(settings.estimatedRequests).toBeLessThanOrEqual(settings.maxQueries);
  });

  it('custom header takes the raw key; request-template with $INPUT and response-path', () => {
    const settings = readGarakSettings({ ...BASE, 'api-key': KEY, 'api-key-header': 'X-Api-Key', 'request-template': '{"prompt": $INPUT, "max_tokens": 64}', 'response-path': '$.output' });
    expect(generatorConfig(settings)).toMatchObject({
      rest: { RestGenerator: { headers: { 'X-Api-Key': '$KEY' }, req_template_json_object: { prompt: '$INPUT', max_tokens: 64 }, response_json_field: '$.output' } }
    });
  });

  it('max-queries bounds the prompt cap, and a budget below one prompt per probe is refused', () => {
    const settings = readGarakSettings({ ...BASE, 'max-queries': '100' });
    expect(settings.estimatedRequests).toBeLessThanOrEqual(100);
    expect(settings.promptCap).toBeLessThan(10);
    expect(() => readGarakSettings({ ...BASE, 'max-queries': '5' })).toThrow(ConfigurationError);
  });

  it('refuses probes that need hub downloads and malformed names', () => {
    expect(() => readGarakSettings({ ...BASE, probes: 'sysprompt_extraction' })).toThrow(/Hugging Face/);
    expect(() => readGarakSettings({ ...BASE, probes: 'latentinjection.LatentJailbreak' })).toThrow(/Hugging Face/);
    expect(() => readGarakSettings({ ...BASE, probes: 'dan; rm -rf /' })).toThrow(ConfigurationError);
    expect(readGarakSettings({ ...BASE, probes: 'dan.DanInTheWild, probes.encoding.InjectHex' }).probes).toEqual(['dan.DanInTheWild', 'encoding.InjectHex']);
  });

  it('not applicable outside mode llm or without garak in engines', async () => {
    const context = (options: Record<string, string>): ToolContext => ({ workspace: '/tmp', targets: ['.'], exclude: [], workDir: '/tmp', options, logger: new MemoryLogger() });
    expect(await garakAdapter.skip!(context({ mode: 'classifier' }))).toMatchObject({ notApplicable: true });
    expect(await garakAdapter.skip!(context({ mode: 'llm', engines: 'promptfoo' }))).toMatchObject({ notApplicable: true });
    expect(await garakAdapter.skip!(context({ mode: 'llm', engines: 'garak,promptfoo' }))).toBeUndefined();
  });

  it('names failures from stderr: 401, time budget', () => {
    expect(garakStderrFailure('ConnectionError: REST URI client error: 401 - Unauthorized, uri: http://x', 1)).toMatch(/refused the key \(HTTP 401\)/);
    expect(garakStderrFailure('secgate: garak stopped at its time budget of 20 s; endpoint HTTP statuses: 429x30\n', 3)).toMatch(/^scan incomplete: garak stopped at its time budget.*429x30/);
    expect(garakStderrFailure('', 0)).toBeUndefined();
  });
});

describe(`garak report parser (real garak ${GARAK_VERSION} reports)`, () => {
  it('vulnerable stub: a failing metric per family, findings per probe × detector with OWASP tags and examples', () => {
    const report = readGarakReport(fixture('vulnerable.report.jsonl'));
    expect(report.version).toBe(GARAK_VERSION);
    expect(report.completed).toBe(true);
    const hits = readGarakHitlog(fixture('vulnerable.hitlog.jsonl'));
    expect(hits.length).toBeGreaterThan(0);
    const parsed = gateGarakReport(report, hits, FIXTURE_DATA);
    const families = parsed.metrics!.map((metric) => metric.id);
    expect(families).toEqual(['garak:dan', 'garak:encoding', 'garak:grandma', 'garak:latentinjection', 'garak:promptinject']);
    for (const metric of parsed.metrics!) {
      expect(metric.value).toBeGreaterThan(0);
      expect(metric.verdict).toBe('fail');
      expect(metric.interval!.lower).toBeGreaterThan(0);
    }
    const injection = parsed.findings.find((finding) => finding.ruleId === 'promptinject.HijackHateHumans/promptinject.AttackRogueString')!;
    expect(injection.tags).toEqual(expect.arrayContaining(['adversarial', 'llm', 'owasp-llm:LLM01']));
    expect(injection.message).toMatch(/ASR 100\.0% \(2\/2, CI/);
    expect(injection.message).toContain('Example 1: prompt:');
    expect(parsed.findings.find((finding) => finding.ruleId.startsWith('grandma.Win10/'))!.tags).toContain('owasp-llm:LLM06');
    expect(parsed.findings.every((finding) => finding.message.split('\n').every((line) => line.length < 700))).toBe(true);
    expect(parsed.facts!.join('\n')).toMatch(/requests estimated 11/);
  });

  it('a threshold above the measured rates passes every family', () => {
    const parsed = gateGarakReport(readGarakReport(fixture('vulnerable.report.jsonl')), [], { ...FIXTURE_DATA, maxAttackSuccessRate: 1 });
    expect(parsed.findings).toHaveLength(0);
    expect(parsed.metrics!.every((metric) => metric.verdict === 'pass')).toBe(true);
  });

  it('crashed probe (no completion entry, garak exit 0): scan incomplete, naming what is missing', () => {
    const report = readGarakReport(fixture('crashed-probe.report.jsonl'));
    expect(report.completed).toBe(false);
    expect(() => gateGarakReport(report, [], { ...FIXTURE_DATA, probes: ['grandma.Win10', 'latentinjection.LatentJailbreak'] })).toThrow(
      /scan incomplete: no completion entry; no eval for latentinjection\.LatentJailbreak/
    );
  });

  it('a completed run missing a probe lists it as unchecked', () => {
    const parsed = gateGarakReport(readGarakReport(fixture('vulnerable.report.jsonl')), [], { ...FIXTURE_DATA, probes: [...FIXTURE_DATA.probes, 'encoding.InjectHex'] });
    expect(parsed.unchecked).toEqual([expect.objectContaining({ kind: 'file', name: 'garak probe encoding.InjectHex' })]);
  });

  it('fails closed on truncated or foreign lines', () => {
    const text = fixture('vulnerable.report.jsonl');
    expect(() => readGarakReport(text.slice(0, text.length - 40))).toThrow(/not JSON/);
    expect(() => readGarakReport('{"entry_type": "mystery"}\n')).toThrow(/entry_type/);
    expect(() => readGarakReport('{"entry_type": "eval", "probe": "x.Y", "detector": "d.D", "passed": 5, "total_evaluated": 2}\n')).toThrow(/passed/);
    expect(() => readGarakReport('')).toThrow(/empty/);
    // A repeated eval line (a garbled or concatenated report) would double n: refused.
    const evalLine = text.split('\n').find((line) => line.includes('"entry_type": "eval"') || line.includes('"entry_type":"eval"'))!;
    expect(() => readGarakReport(text.replace(evalLine, `${evalLine}\n${evalLine}`))).toThrow(/repeats the eval/);
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

describe(`real garak ${GARAK_VERSION} against the loopback LLM stubs`, () => {
  let root = '';
  let tool: InstalledTool | undefined;
  const stubs: LlmStub[] = [];
  const savedCache = process.env['RUNNER_TOOL_CACHE'];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'secgate-garak-'));
    // The lock is read here so the test runs before (and checks) its PYTHON_LOCKS entry.
    const lock = { ...TOOLS_LOCK, python: { ...TOOLS_LOCK.python, garak: { [GARAK_VERSION]: requirementSet(readFileSync(LOCK_FILE, 'utf8')) } } };
    const installer = new ToolInstaller({ logger: new MemoryLogger(), lock });
    process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
    try {
      tool = await withCacheLock(SHARED_TOOL_CACHE, 15 * 60_000, () => installer.install(garakAdapter.install));
    } catch (error) {
      requireTool(false, `garak (install failed: ${errorMessage(error)})`);
    }
  }, 15 * 60_000);

  afterAll(async () => {
    await Promise.all(stubs.map((stub) => stub.close()));
    if (savedCache === undefined) delete process.env['RUNNER_TOOL_CACHE'];
    else process.env['RUNNER_TOOL_CACHE'] = savedCache;
    if (root) await rm(root, { recursive: true, force: true });
  });

  interface Scan {
    parsed?: ParsedReport;
    error?: unknown;
    stdout: string;
    stderr: string;
    workDir: string;
    stub: LlmStub;
  }

  /** What the engine does: command, run (bounded), exit meaning, stderr reading, parse. */
  async function scan(stubOptions: LlmStubOptions, options: Record<string, string>, key = KEY): Promise<Scan> {
    const stub = await startLlmStub({ maxRequests: 3000, ...stubOptions });
    stubs.push(stub);
    const workDir = await mkdtemp(path.join(root, 'work-'));
    // `timeout-minutes` reaches the adapter as the engine does: ToolContext.timeoutMs.
    const { 'timeout-minutes': minutes, ...rest } = options;
    const context: ToolContext = {
      workspace: root,
      targets: ['.'],
      exclude: [],
      workDir,
      logger: new MemoryLogger(),
      options: { mode: 'llm', target: stub.chatUrl, 'api-key': key, model: 'stub', ...rest },
      ...(minutes ? { timeoutMs: Number(minutes) * 60_000 } : {})
    };
    const invocation = await garakAdapter.command(tool!, context);
    const single = Array.isArray(invocation) ? invocation[0]! : invocation;
    const result = await runTool({ tool: 'garak', command: tool!.command, args: [...tool!.baseArgs, ...single.args], cwd: root, env: { ...process.env, ...single.env }, timeoutMs: 5 * 60_000 });
    const outcome: Scan = { stdout: result.stdout, stderr: result.stderr, workDir, stub };
    try {
      const failure = garakAdapter.stderrFailure!(result.stderr, single, result.exitCode);
      if (garakAdapter.exitMeaning(result.exitCode, single) === 'error' || failure) throw new ToolFailureError('garak', failure ?? `exited ${result.exitCode}`);
      outcome.parsed = garakAdapter.parse(readFileSync(single.reportFile!, 'utf8'), context, single);
    } catch (error) {
      outcome.error = error;
    }
    return outcome;
  }

  function expectNoKey(outcome: Scan): void {
    expect(outcome.stdout).not.toContain(KEY);
    expect(outcome.stderr).not.toContain(KEY);
    expect(JSON.stringify(outcome.parsed ?? {})).not.toContain(KEY);
    for (const file of filesUnder(outcome.workDir)) expect({ file, holdsKey: readFileSync(file, 'latin1').includes(KEY) }).toEqual({ file, holdsKey: false });
  }

  const PROBES = 'promptinject.HijackHateHumans,encoding.InjectBase64,dan.Dan_11_0,latentinjection.LatentInjectionFactSnippetLegal,grandma.Win10';

  it('vulnerable stub: every family fails with ASR above the threshold; the key never leaks', async () => {
    if (!requireTool(Boolean(tool), 'garak')) return;
    const outcome = await scan({ behaviour: 'vulnerable', apiKey: KEY }, { probes: PROBES, 'max-queries': '200' });
    expect(outcome.error).toBeUndefined();
    const metrics = outcome.parsed!.metrics!;
    expect(metrics.map((metric) => metric.id).sort()).toEqual(['garak:dan', 'garak:encoding', 'garak:grandma', 'garak:latentinjection', 'garak:promptinject']);
    for (const metric of metrics) expect(metric).toMatchObject({ verdict: 'fail' });
    expect(outcome.parsed!.findings.length).toBeGreaterThanOrEqual(5);
    expect(outcome.stub.requests()).toBeLessThanOrEqual(200);
    expectNoKey(outcome);
  }, 5 * 60_000);

  it('hardened stub, fast profile: every family passes', async () => {
    if (!requireTool(Boolean(tool), 'garak')) return;
    const outcome = await scan({ behaviour: 'hardened', apiKey: KEY }, { 'max-queries': '400' });
    expect(outcome.error).toBeUndefined();
    expect(outcome.parsed!.findings).toEqual([]);
    expect(outcome.parsed!.unchecked).toBeUndefined();
    expect(outcome.parsed!.metrics!.map((metric) => [metric.id, metric.verdict])).toEqual(
      ['dan', 'encoding', 'grandma', 'latentinjection', 'promptinject'].map((family) => [`garak:${family}`, 'pass'])
    );
    expectNoKey(outcome);
  }, 5 * 60_000);

  it('wrong key: a named failure, not a pass', async () => {
    if (!requireTool(Boolean(tool), 'garak')) return;
    const outcome = await scan({ behaviour: 'hardened', apiKey: KEY }, { probes: 'promptinject.HijackHateHumans' }, 'sk-wrong-key-000000');
    expect(outcome.error).toBeInstanceOf(ToolFailureError);
    expect(errorMessage(outcome.error)).toMatch(/refused the key \(HTTP 401\)/);
  }, 5 * 60_000);

  it('429 storm: stopped at its time budget with the statuses seen, a named failure', async () => {
    if (!requireTool(Boolean(tool), 'garak')) return;
    const outcome = await scan({ behaviour: 'vulnerable', apiKey: KEY, fault: '429' }, { probes: 'promptinject.HijackHateHumans', 'timeout-minutes': '0.5', concurrency: '1' });
    expect(outcome.error).toBeInstanceOf(ToolFailureError);
    expect(errorMessage(outcome.error)).toMatch(/scan incomplete: garak stopped at its time budget of \d+ s; endpoint HTTP statuses: 429x\d+/);
    expect(outcome.stub.requests()).toBeLessThan(100);
    expectNoKey(outcome);
  }, 5 * 60_000);
});
