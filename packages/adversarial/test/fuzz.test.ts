/**
 * Fuzz: mutated REAL reports of the adversarial stage's tools never pass, never surface a raw
 * JavaScript error, never come out malformed, and never show the API key.
 *
 * Bases (each fails closed unmutated: findings, unchecked items or a SecgateError; checked by the
 * first test):
 * - ART: the secgate runner's real reports in fixtures/art (README there), every one of them;
 * - garak 0.17.1: fixtures/garak-0.17.1, the vulnerable run (report.jsonl + hitlog.jsonl) and the
 *   run whose probe crashed (no completion entry);
 * - promptfoo 0.121.20: fixtures/promptfoo-0.121.20, the vulnerable stub's and the wrong key's results;
 * - schemathesis 4.32.5: two NDJSON reports produced at test time by the real tool (the shared test
 *   tool cache's install) against test/helpers/model-api-server.py — the planted 500, and the
 *   hardened server cut short by max-queries 3 (unchecked). About 3 s; skipped with a note when
 *   schemathesis is not installable (requireTool: an error in CI).
 *
 * Every invocation is the adapter's own `command()` with realistic options (the key in `api-key`),
 * so `parse` reads the `data` it reads in a real run. Each case applies one seeded mutation:
 * - JSON reports: the sast suite's mutators (../../sast/test/fuzz-mutators.ts);
 * - JSONL/NDJSON (garak's report and hit log, schemathesis' events): its line mutators (dropped,
 *   repeated, swapped, garbage and huge lines) and byte mutators, plus ours below — a JSON mutator
 *   applied to one line, one field changed in every line of one entry type, a cut at a line boundary;
 * - for every base, `keyEcho` (8 %): the planted key put into a text an endpoint can echo (response
 *   output, error message, hit-log text), as a key-reflecting endpoint would.
 * garak's cases mutate the report (75 %) or the hit log (25 %).
 *
 * Two paths, as the container suite:
 * 1. parse: `exitMeaning` with the real exit code, then `parse` with the command's invocation, and
 *    the engine's rule that an exit code saying "findings" with none read is an error. Asserted:
 *    a SecgateError whose message is no raw JavaScript error text, or a well-formed ParsedReport
 *    that is not a silent pass (no findings and nothing unchecked); metrics with finite values,
 *    thresholds and intervals in [0, 1]; findings with the tool's id, a rule id, a severity of the
 *    scale, a workspace-relative location; the key nowhere in the report or the error.
 * 2. engine (a seeded share): `runScan` with the real adapter whose command is `/bin/sh` copying
 *    the mutated report (and garak's hit log) to where the adapter reads it and exiting with the
 *    real code; fail-on `info`, so a `pass` verdict is a silent pass. SARIF, JSON and summary built,
 *    the key in none of them.
 * SECGATE_FUZZ_SEED, SECGATE_FUZZ_CASES (default 800), SECGATE_FUZZ_ENGINE_SHARE (default 0.1)
 * override the defaults; SECGATE_FUZZ_DUMP names a directory for each problem case's mutated bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import {
  MemoryLogger,
  SEVERITIES,
  SecgateError,
  ToolFailureError,
  ToolInstaller,
  ToolOutputError,
  buildJsonReport,
  buildSarif,
  buildSummary,
  errorMessage,
  runScan,
  silentLogger,
  type InstalledTool,
  type ParsedReport,
  type RawFinding,
  type ScanResult,
  type ToolAdapter,
  type ToolContext,
  type ToolInvocation
} from '@secgate/core';
import { artAdapter } from '../src/adapters/art.js';
import { GARAK_VERSION, garakAdapter } from '../src/adapters/garak.js';
import { promptfooAdapter } from '../src/adapters/promptfoo.js';
import { SCHEMATHESIS_VERSION, schemathesisAdapter } from '../src/adapters/schemathesis.js';
import { adversarialStage } from '../src/index.js';
import { withCacheLock } from '../../../test/helpers/tool-processes.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';
import { JSON_MUTATORS, TEXT_MUTATORS, mutate, prng, type Mutation, type Random } from '../../sast/test/fuzz-mutators.js';

const SEED = Number(process.env['SECGATE_FUZZ_SEED'] ?? 20260601);
const CASES = Number(process.env['SECGATE_FUZZ_CASES'] ?? 800);
const ENGINE_SHARE = Number(process.env['SECGATE_FUZZ_ENGINE_SHARE'] ?? 0.1);
const DUMP = process.env['SECGATE_FUZZ_DUMP'];
/** Share of cases whose mutation is `keyEcho`. */
const KEY_SHARE = 0.08;
/** Share of garak cases that mutate the hit log instead of the report. */
const HITLOG_SHARE = 0.25;
const TEST_DIR = path.join(REPO_ROOT, 'packages', 'adversarial', 'test');
const FIXTURES = path.join(TEST_DIR, 'fixtures');
const MODEL_API_SERVER = path.join(REPO_ROOT, 'test', 'helpers', 'model-api-server.py');
/** The key of every run here (the fixtures hold none: their READMEs); `keyEcho` plants it in the reports. */
const KEY = 'sk-planted-FUZZ-3e9d7c51a0';

/** What raw JavaScript errors look like; none may be the explanation a user gets. */
const RAW_JS_ERROR =
  /Cannot read propert|is not a function|is not iterable|Maximum call stack|Unexpected token|Unexpected end of JSON|is not valid JSON|undefined is not|null is not|Invalid array length|Invalid string length|unexpected error:|internal error in secgate/;

type Mutator = (typeof JSON_MUTATORS)[number];
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Base {
  name: string;
  adapter: ToolAdapter;
  format: 'json' | 'jsonl';
  original: Buffer;
  /** garak: the hit log read beside the report (from invocation.data.hitlogFile). */
  hitlog?: Buffer;
  /** Where the findings array is: the JSON mutators never replace it by an empty one. */
  findingsPath: (string | number)[];
  workspace: string;
  options: Record<string, string>;
  exitCode: number;
  /** The command's invocation, its `data` copied (schemathesis' exitMeaning writes into it). */
  invocation: () => ToolInvocation;
}

// ---------------------------------------------------------------------------------------------
// Mutations of our own, next to the sast suite's

const int = (random: Random, max: number): number => Math.floor(random() * max);
const pick = <T>(random: Random, items: readonly T[]): T => items[int(random, items.length)]!;
const ODD_VALUES: readonly Json[] = [null, true, false, 0, -1, 1.5, 1e308, '', ' ', 'x', 'NaN', '\u0000', [], [null], {}, { text: 1 }];

/** Lines of a JSONL text, the trailing newline kept as an empty last element. */
const linesOf = (bytes: Buffer): string[] => bytes.toString('utf8').split('\n');
const indexesOf = (lines: readonly string[]): number[] => lines.map((line, index) => (line.trim() === '' ? -1 : index)).filter((index) => index >= 0);

/** One line of the JSONL mutated by a JSON mutator (the line stays one line: the mutators write compact JSON). */
function oneLine(original: Buffer, random: Random): Mutation {
  const lines = linesOf(original);
  const at = pick(random, indexesOf(lines));
  const mutator = pick(random, JSON_MUTATORS);
  let mutated: Mutation;
  try {
    mutated = mutator(Buffer.from(lines[at]!), random, []);
  } catch {
    // A line that is not JSON (none in these bases): garbled instead.
    mutated = { kind: 'not-json', bytes: Buffer.from(`${lines[at]}}`) };
  }
  lines[at] = mutated.bytes.toString('utf8').replace(/\n/g, ' ');
  return { kind: `line:${mutated.kind}`, bytes: Buffer.from(lines.join('\n')) };
}

/** The first line's event or entry type: garak's `entry_type`, schemathesis' single event name. */
function typeOf(line: string): string | undefined {
  try {
    const value = JSON.parse(line) as Json;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    return typeof value['entry_type'] === 'string' ? value['entry_type'] : Object.keys(value).join(',');
  } catch {
    return undefined;
  }
}

/** The fields of an entry, one level of nesting deep (schemathesis' events are `{"Name": {...}}`: one deeper). */
function fieldsOf(value: Json, prefix: string[] = [], depth = 2): string[][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || depth === 0) return [];
  return Object.entries(value).flatMap(([key, inner]) => [[...prefix, key], ...fieldsOf(inner, [...prefix, key], depth - 1)]);
}

/** One field changed (or removed) in EVERY line of one entry type: a tool upgrade renaming a field of its evals. */
function everyLine(original: Buffer, random: Random): Mutation {
  const lines = linesOf(original);
  // Each type alike (garak's attempt lines, which the parser skips, outnumber its evals).
  const type = pick(random, [...new Set(indexesOf(lines).map((index) => typeOf(lines[index]!)).filter((t): t is string => t !== undefined))]);
  const sameType = indexesOf(lines).filter((index) => typeOf(lines[index]!) === type);
  const field = pick(random, fieldsOf(JSON.parse(lines[sameType[0]!]!) as Json));
  const remove = random() < 0.3;
  const replacement = pick(random, ODD_VALUES);
  for (const index of sameType) {
    const entry = JSON.parse(lines[index]!) as Record<string, Json>;
    let holder: Json = entry;
    for (const key of field.slice(0, -1)) holder = holder !== null && typeof holder === 'object' && !Array.isArray(holder) ? (holder[key] ?? null) : null;
    if (holder === null || typeof holder !== 'object' || Array.isArray(holder)) continue;
    if (remove) delete holder[field[field.length - 1]!];
    else holder[field[field.length - 1]!] = replacement;
    lines[index] = JSON.stringify(entry);
  }
  return { kind: 'every-line', bytes: Buffer.from(lines.join('\n')) };
}

/** The report cut after a whole line: valid JSONL that ends early (the tool killed between two writes). */
function truncateLines(original: Buffer, random: Random): Mutation {
  const lines = linesOf(original);
  return { kind: 'truncate-lines', bytes: Buffer.from(`${lines.slice(0, int(random, lines.length)).join('\n')}\n`) };
}

const JSONL_MUTATORS: readonly Mutator[] = [
  // The sast suite's line and byte mutators, without its git-secrets `odd-line-number`.
  ...TEXT_MUTATORS.filter((mutator) => mutator(Buffer.from('a:1:b'), prng(1), []).kind !== 'odd-line-number'),
  oneLine,
  oneLine,
  oneLine,
  everyLine,
  everyLine,
  truncateLines
];

/** Keys whose text an endpoint controls (its answers, its errors, the tool's quote of them). */
const ECHO_KEYS = new Set(['output', 'text', 'message', 'error', 'reason', 'raw', 'string', 'content', 'body', 'outputs']);

/** The planted key put into one text an endpoint could echo (whole, prefixed or inside). */
function keyEcho(original: Buffer, random: Random, format: Base['format']): Mutation {
  const plant = (text: string): string => pick(random, [KEY, `Bearer ${KEY}`, `${text.slice(0, 40)} ${KEY} ${text.slice(40, 80)}`, `{"error": "invalid key ${KEY}"}`]);
  const holders = (root: Json): [Record<string, Json>, string][] => {
    const out: [Record<string, Json>, string][] = [];
    const stack: Json[] = [root];
    while (stack.length > 0) {
      const value = stack.pop()!;
      if (Array.isArray(value)) stack.push(...value);
      else if (value !== null && typeof value === 'object') {
        for (const [key, inner] of Object.entries(value)) {
          if (ECHO_KEYS.has(key) && typeof inner === 'string') out.push([value, key]);
          stack.push(inner);
        }
      }
    }
    return out;
  };
  if (format === 'json') {
    const root = JSON.parse(original.toString('utf8')) as Json;
    const found = holders(root);
    if (found.length > 0) {
      const [holder, key] = pick(random, found);
      holder[key] = plant(holder[key] as string);
    }
    return { kind: 'key-echo', bytes: Buffer.from(JSON.stringify(root, null, 1)) };
  }
  const lines = linesOf(original);
  const candidates = indexesOf(lines).filter((index) => holders(JSON.parse(lines[index]!) as Json).length > 0);
  if (candidates.length > 0) {
    const at = pick(random, candidates);
    const entry = JSON.parse(lines[at]!) as Json;
    const [holder, key] = pick(random, holders(entry));
    holder[key] = plant(holder[key] as string);
    lines[at] = JSON.stringify(entry);
  }
  return { kind: 'key-echo', bytes: Buffer.from(lines.join('\n')) };
}

// ---------------------------------------------------------------------------------------------
// The two paths

function context(base: Base, workDir: string): ToolContext {
  return { workspace: base.workspace, targets: ['.'], exclude: [], workDir, options: base.options, logger: silentLogger };
}

/** The invocation of one case: garak's hit log read from the case's own file. */
function caseInvocation(base: Base, hitlogFile: string | undefined): ToolInvocation {
  const invocation = base.invocation();
  return hitlogFile === undefined ? invocation : { ...invocation, data: { ...invocation.data, hitlogFile } };
}

type Outcome = { report: ParsedReport; error?: undefined } | { report?: undefined; error: unknown };

/** The engine's reading of one report, without the engine: exit meaning, parse, the exit rule. */
function parsePath(base: Base, report: Buffer, hitlogFile: string | undefined, workDir: string): Outcome {
  try {
    const invocation = caseInvocation(base, hitlogFile);
    const meaning = base.adapter.exitMeaning(base.exitCode, invocation);
    if (meaning === 'error') return { error: new ToolFailureError(base.adapter.id, `exit ${base.exitCode} is an error`) };
    const parsed = base.adapter.parse(report.toString('utf8'), context(base, workDir), invocation);
    if (meaning === 'findings' && parsed.findings.length + (parsed.dropped ?? 0) === 0) return { error: new ToolOutputError(base.adapter.id, `exit code ${base.exitCode} says findings, but the report has none`) };
    return { report: parsed };
  } catch (error) {
    return { error };
  }
}

/** Installs nothing: every tool "is" a shell that copies the case's report (and hit log) to where the adapter reads it, then exits with the real code. */
const shellInstaller = {
  async install(spec: { tool: string }): Promise<InstalledTool> {
    return {
      tool: spec.tool,
      version: 'fuzz',
      command: '/bin/sh',
      baseArgs: ['-c', 'cp "$1" "$2" && if [ -n "$3" ]; then cp "$3" "$4"; fi; exit "$0"'],
      dir: '/bin',
      cacheHit: true,
      durationMs: 0,
      verified: true
    };
  }
} as unknown as ToolInstaller;

async function enginePath(base: Base, report: Buffer, hitlog: Buffer | undefined, scratch: string): Promise<ScanResult> {
  const source = path.join(scratch, 'mutated-report');
  await writeFile(source, report);
  const hitlogSource = path.join(scratch, 'mutated-hitlog');
  if (hitlog) await writeFile(hitlogSource, hitlog);
  const reportFile = path.join(scratch, 'tool-report');
  const hitlogFile = hitlog ? path.join(scratch, 'tool-hitlog') : undefined;
  const planned = caseInvocation(base, hitlogFile);
  const invocation: ToolInvocation = {
    ...planned,
    args: [String(base.exitCode), source, reportFile, ...(hitlogFile ? [hitlogSource, hitlogFile] : [])],
    reportFile
  };
  const adapter: ToolAdapter = { ...base.adapter, skip: undefined, command: () => invocation };
  return runScan(
    {
      stages: [{ ...adversarialStage, adapters: [adapter], defaultTools: [adapter.id] }],
      workspace: base.workspace,
      targets: ['.'],
      exclude: [],
      tools: [],
      // Every finding blocks: a `pass` is a report read as clean.
      policy: { failOn: 'info', reportSeverity: 'info', newOnly: 'off', exceptions: [] },
      options: base.options,
      timeoutsMs: {},
      now: new Date('2026-06-01T00:00:00Z'),
      tempDir: path.join(scratch, 'scan')
    },
    { installer: shellInstaller, logger: silentLogger }
  );
}

const fraction = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;

/** Why a parsed report is not well formed, or undefined. */
function malformed(report: ParsedReport, base: Base): string | undefined {
  if (!Array.isArray(report.findings) || !Array.isArray(report.warnings)) return 'findings or warnings not an array';
  for (const finding of report.findings) {
    const why = malformedFinding(finding, base);
    if (why) return `finding ${JSON.stringify(String(finding.ruleId).slice(0, 60))}: ${why}`;
  }
  for (const item of report.unchecked ?? []) {
    if (typeof item.name !== 'string' || item.name === '' || typeof item.reason !== 'string' || item.reason === '') return `unchecked item ${JSON.stringify(item).slice(0, 120)}`;
  }
  for (const metric of report.metrics ?? []) {
    const where = `metric ${metric.id}`;
    if (typeof metric.id !== 'string' || metric.id === '') return 'a metric without an id';
    if (!fraction(metric.value)) return `${where}: value ${metric.value}`;
    if (metric.threshold !== undefined && !fraction(metric.threshold)) return `${where}: threshold ${metric.threshold}`;
    if (!['pass', 'fail', 'inconclusive'].includes(metric.verdict)) return `${where}: verdict ${String(metric.verdict)}`;
    if (metric.n !== undefined && !(Number.isSafeInteger(metric.n) && metric.n > 0)) return `${where}: n ${metric.n}`;
    const interval = metric.interval;
    if (interval && !(fraction(interval.lower) && fraction(interval.upper) && interval.lower <= metric.value + 1e-9 && metric.value <= interval.upper + 1e-9)) {
      return `${where}: interval ${interval.lower}–${interval.upper} around ${metric.value}`;
    }
  }
  if ([...report.warnings, ...(report.facts ?? [])].some((line) => typeof line !== 'string')) return 'a warning or fact not a string';
  return undefined;
}

function malformedFinding(finding: RawFinding, base: Base): string | undefined {
  if (finding.tool !== base.adapter.id) return `tool ${JSON.stringify(finding.tool)}`;
  if (typeof finding.ruleId !== 'string' || finding.ruleId === '' || /[\u0000-\u001f\u007f]/.test(finding.ruleId)) return 'rule id';
  if (!SEVERITIES.includes(finding.severity)) return `severity ${JSON.stringify(finding.severity)}`;
  if (typeof finding.title !== 'string' || finding.title === '' || typeof finding.message !== 'string') return 'title or message';
  const location = finding.location;
  if (location) {
    const file = location.path;
    if (typeof file !== 'string' || file === '' || path.posix.isAbsolute(file) || file.split(/[\\/]/).includes('..')) return `location path ${JSON.stringify(String(file).slice(0, 120))}`;
    if (location.startLine !== undefined && !(Number.isInteger(location.startLine) && location.startLine >= 1)) return `startLine ${location.startLine}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Bases

const realTool = (tool: string): InstalledTool => ({ tool, version: 'real', command: 'python3', baseArgs: [], dir: '/usr/bin', cacheHit: true, durationMs: 0, verified: true });

/** A copy of the invocation per case: `data` (and schemathesis' exit record) not shared. */
function freshInvocation(invocation: ToolInvocation): () => ToolInvocation {
  return () => ({ ...invocation, data: invocation.data ? { ...invocation.data, ...('exit' in invocation.data ? { exit: {} } : {}) } : undefined });
}

async function plan(adapter: ToolAdapter, workspace: string, workDir: string, options: Record<string, string>, tool: InstalledTool = realTool(adapter.id)): Promise<ToolInvocation> {
  const planned = await adapter.command(tool, { workspace, targets: ['.'], exclude: [], workDir, options, logger: new MemoryLogger() });
  if (Array.isArray(planned)) throw new Error(`${adapter.id}: one invocation expected`);
  return planned;
}

interface Server {
  url: string;
  stop(): Promise<void>;
}

/** The loopback model API (as schemathesis.test.ts starts it); resolves once it prints its port. */
async function startModelApi(args: string[]): Promise<Server> {
  const child = spawn('python3', [MODEL_API_SERVER, '--lifetime', '120', '--max-requests', '3000', ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MODEL_API_KEY: KEY },
    stdio: ['ignore', 'pipe', 'inherit']
  });
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^port (\d+)$/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', () => reject(new Error('model API server exited before printing its port')));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    }
  };
}

/** Runs real schemathesis through the adapter's command; the NDJSON report, the exit code and the invocation. */
async function schemathesisRun(tool: InstalledTool, root: string, name: string, serverArgs: string[], extra: Record<string, string>): Promise<Omit<Base, 'adapter' | 'format' | 'findingsPath'>> {
  const server = await startModelApi(serverArgs);
  try {
    const workspace = path.join(root, `${name}-workspace`);
    await mkdir(path.join(workspace, 'api'), { recursive: true });
    const spec = await (await fetch(`${server.url}/openapi.json`)).text();
    await writeFile(path.join(workspace, 'api', 'openapi.json'), JSON.stringify(JSON.parse(spec), null, 2));
    const options = { mode: 'api', target: server.url, openapi: 'api/openapi.json', 'api-key': KEY, concurrency: '2', ...extra };
    const invocation = await plan(schemathesisAdapter, workspace, await mkdtemp(path.join(root, `${name}-work-`)), options, tool);
    const child = spawn(tool.command, [...tool.baseArgs, ...invocation.args], { cwd: workspace, env: { ...process.env, ...invocation.env }, stdio: 'ignore' });
    const exitCode = await new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
    return { name, original: await readFile(invocation.reportFile!), workspace, options, exitCode, invocation: freshInvocation(invocation) };
  } finally {
    await server.stop();
  }
}

describe(`adversarial fuzz: mutated real reports (seed ${SEED}, ${CASES} cases)`, () => {
  let root: string;
  const bases: Base[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'secgate-adversarial-fuzz-'));
    const workspace = path.join(root, 'workspace');
    await mkdir(workspace);
    const work = (): Promise<string> => mkdtemp(path.join(root, 'work-'));

    // schemathesis first (real runs, in the background while the rest is planned).
    const schemathesisBases = (async (): Promise<Base[]> => {
      const saved = process.env['RUNNER_TOOL_CACHE'];
      process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
      let tool: InstalledTool | undefined;
      try {
        tool = await withCacheLock(SHARED_TOOL_CACHE, 15 * 60_000, () => new ToolInstaller({ logger: new MemoryLogger() }).install(schemathesisAdapter.install));
      } catch (error) {
        requireTool(false, `schemathesis ${SCHEMATHESIS_VERSION} (install failed: ${errorMessage(error)}); its bases are left out`);
        return [];
      } finally {
        if (saved === undefined) delete process.env['RUNNER_TOOL_CACHE'];
        else process.env['RUNNER_TOOL_CACHE'] = saved;
      }
      const runs = await Promise.all([
        schemathesisRun(tool, root, 'schemathesis-500', [], {}),
        schemathesisRun(tool, root, 'schemathesis-budget', ['--hardened'], { 'max-queries': '3' })
      ]);
      return runs.map((run) => ({ ...run, adapter: schemathesisAdapter, format: 'jsonl', findingsPath: [] }));
    })();

    // ART: every committed runner report, with the runner's exit code (README table).
    await writeFile(path.join(workspace, 'eval.npz'), 'placeholder: command() only checks it exists');
    const artOptions = { mode: 'classifier', target: 'http://127.0.0.1:9/predict', 'eval-data': 'eval.npz', 'api-key': KEY };
    const artInvocation = await plan(artAdapter, workspace, await work(), artOptions);
    const artExit: Record<string, number> = { unauthorized: 3, 'server-error': 3 };
    for (const name of ['brittle-whitebox', 'robust-labels', 'budget-partial', 'budget-exhausted', 'budget-clean', 'unauthorized', 'server-error']) {
      bases.push({
        name: `art-${name}`,
        adapter: artAdapter,
        format: 'json',
        original: readFileSync(path.join(FIXTURES, 'art', `${name}.json`)),
        findingsPath: ['attacks'],
        workspace,
        options: artOptions,
        exitCode: artExit[name] ?? 0,
        invocation: freshInvocation(artInvocation)
      });
    }

    // garak: the fixture runs' probes; the report read from the case's text, the hit log from the case's file.
    const garakDir = path.join(FIXTURES, `garak-${GARAK_VERSION}`);
    const llmOptions = { mode: 'llm', target: 'http://127.0.0.1:9/v1/chat/completions', model: 'stub', 'api-key': KEY };
    const garakRuns: [string, string, string | undefined, string][] = [
      ['garak-vulnerable', 'vulnerable.report.jsonl', 'vulnerable.hitlog.jsonl', 'promptinject.HijackHateHumans,encoding.InjectBase64,dan.Dan_11_0,latentinjection.LatentInjectionFactSnippetLegal,grandma.Win10'],
      // Its second probe (latentinjection.LatentJailbreak) needs the hub: command() refuses it, so planned with the first.
      ['garak-crashed-probe', 'crashed-probe.report.jsonl', undefined, 'grandma.Win10']
    ];
    for (const [name, report, hitlog, probes] of garakRuns) {
      const invocation = await plan(garakAdapter, workspace, await work(), { ...llmOptions, probes, 'max-queries': '100' });
      if (name === 'garak-crashed-probe') (invocation.data as { probes: string[] }).probes.push('latentinjection.LatentJailbreak');
      bases.push({
        name,
        adapter: garakAdapter,
        format: 'jsonl',
        original: readFileSync(path.join(garakDir, report)),
        ...(hitlog ? { hitlog: readFileSync(path.join(garakDir, hitlog)) } : {}),
        findingsPath: [],
        workspace,
        options: llmOptions,
        exitCode: 0,
        invocation: freshInvocation(invocation)
      });
    }

    // promptfoo: the fixtures' three families; exit 100 (tests failed or errored).
    const promptfooOptions = { ...llmOptions, model: 'stub-model', probes: 'promptfoo:prompt-injection,promptfoo:encoding,promptfoo:prompt-extraction' };
    const promptfooInvocation = await plan(promptfooAdapter, workspace, await work(), promptfooOptions);
    for (const name of ['vulnerable', '401']) {
      bases.push({
        name: `promptfoo-${name}`,
        adapter: promptfooAdapter,
        format: 'json',
        original: readFileSync(path.join(FIXTURES, 'promptfoo-0.121.20', `results-${name}.json`)),
        findingsPath: ['results', 'results'],
        workspace,
        options: promptfooOptions,
        exitCode: 100,
        invocation: freshInvocation(promptfooInvocation)
      });
    }

    bases.push(...(await schemathesisBases));
  }, 16 * 60_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** The case's hit log written to its own file (garak), so the adapter reads it as in a run. */
  function hitlogFor(base: Base, hitlog: Buffer | undefined, dir: string): string | undefined {
    if (base.adapter !== garakAdapter) return undefined;
    const file = path.join(dir, 'secgate.hitlog.jsonl');
    if (hitlog) writeFileSync(file, hitlog);
    return file;
  }

  it('every unmutated report fails closed on both paths (the premise of every case)', async () => {
    expect(bases.length).toBeGreaterThanOrEqual(11);
    const lines: string[] = [];
    for (const base of bases) {
      const dir = await mkdtemp(path.join(root, `premise-${base.name}-`));
      const outcome = parsePath(base, base.original, hitlogFor(base, base.hitlog, dir), dir);
      const shape = outcome.report
        ? { findings: outcome.report.findings.length, unchecked: outcome.report.unchecked?.length ?? 0, malformed: malformed(outcome.report, base) }
        : { error: outcome.error instanceof SecgateError ? outcome.error.constructor.name : String(outcome.error) };
      lines.push(`${base.name} ${JSON.stringify(shape)}`);
      expect([base.name, outcome.report ? outcome.report.findings.length + (outcome.report.unchecked?.length ?? 0) > 0 && shape.malformed === undefined : outcome.error instanceof SecgateError]).toEqual([
        base.name,
        true
      ]);
      const result = await enginePath(base, base.original, base.hitlog, dir);
      expect([base.name, result.verdict]).not.toEqual([base.name, 'pass']);
    }
    process.stdout.write(`adversarial fuzz bases:\n  ${lines.join('\n  ')}\n`);
  }, 120_000);

  // The garblings the fuzz found, each a fixed case.
  it.each([
    ['art-brittle-whitebox', 'a deeply nested array where a number is read (JSON.stringify overflowed: RangeError)', (text: string) => text.replace('"eps": 0.15', `"eps": ${'['.repeat(20_000)}1${']'.repeat(20_000)}`)],
    ['art-brittle-whitebox', 'a deeply nested object as the schema', (text: string) => text.replace('"secgate-adversarial-classifier/1"', `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`)],
    ['art-budget-partial', 'a deeply nested array as budget.exhausted', (text: string) => text.replace('"exhausted": true', `"exhausted": ${'['.repeat(20_000)}${']'.repeat(20_000)}`)]
  ])('%s: %s is a ToolOutputError', (name, _what, change) => {
    const base = bases.find((b) => b.name === name)!;
    const outcome = parsePath(base, Buffer.from(change(base.original.toString('utf8'))), undefined, root);
    expect((outcome.error as Error | undefined)?.constructor.name).toBe('ToolOutputError');
  });

  it('art: an attack error the runner wrote empty (str() of a bare exception) still names a reason', () => {
    const base = bases.find((b) => b.name === 'art-budget-exhausted')!;
    const doc = JSON.parse(base.original.toString('utf8')) as { attacks: { error: string | null }[] };
    for (const attack of doc.attacks) attack.error = '';
    const outcome = parsePath(base, Buffer.from(JSON.stringify(doc)), undefined, root);
    expect(outcome.report?.unchecked?.map((item) => item.reason)).toEqual(['the attack ran on no sample', 'the attack ran on no sample']);
  });

  it('garak: a hit log whose responses echo the key gives findings without it (the examples quoted it)', async () => {
    const base = bases.find((b) => b.name === 'garak-vulnerable')!;
    const dir = await mkdtemp(path.join(root, 'known-garak-'));
    const hitlog = linesOf(base.hitlog!).map((line) => {
      if (line.trim() === '') return line;
      const entry = JSON.parse(line) as { output: { text: string } };
      entry.output.text = `{"error": "invalid key ${KEY}"} ${entry.output.text}`;
      return JSON.stringify(entry);
    });
    const outcome = parsePath(base, base.original, hitlogFor(base, Buffer.from(hitlog.join('\n')), dir), dir);
    expect(outcome.report?.findings.length).toBeGreaterThan(0);
    expect(outcome.report!.findings.some((f) => f.message.includes('invalid key [redacted]'))).toBe(true);
    expect(JSON.stringify(outcome.report)).not.toContain(KEY);
  });

  it('no mutated report passes, surfaces a raw JavaScript error, comes out malformed or shows the key', async () => {
    const random: Random = prng(SEED);
    interface Case {
      index: number;
      caseId: string;
      base: Base;
      mutation: Mutation;
      /** What the adapter reads: the report and (garak) the hit log, one of them mutated. */
      report: Buffer;
      hitlog?: Buffer;
      viaEngine: boolean;
    }
    const cases: Case[] = Array.from({ length: CASES }, (_, index) => {
      const base = bases[index % bases.length]!;
      const onHitlog = base.hitlog !== undefined && random() < HITLOG_SHARE;
      const target = onHitlog ? base.hitlog! : base.original;
      const mutation =
        random() < KEY_SHARE
          ? keyEcho(target, random, base.format)
          : base.format === 'json'
            ? mutate(target, random, JSON_MUTATORS, base.findingsPath)
            : mutate(target, random, JSONL_MUTATORS, []);
      const label = `${onHitlog ? 'hitlog ' : ''}${mutation.kind}`;
      return {
        index,
        caseId: `#${index} ${base.name} ${label}`,
        base,
        mutation: { ...mutation, kind: label },
        report: onHitlog ? base.original : mutation.bytes,
        ...(base.hitlog ? { hitlog: onHitlog ? mutation.bytes : base.hitlog } : {}),
        viaEngine: random() < ENGINE_SHARE
      };
    });

    interface Problem {
      caseId: string;
      path: 'parse' | 'engine';
      kind: 'silent pass' | 'raw JS error' | 'malformed report' | 'key shown' | 'runScan threw' | 'report building threw';
      what: string;
    }
    const problems: Problem[] = [];
    const tally = new Map<string, { cases: number; parse: Record<'error' | 'report', number>; engine: Record<string, number> }>();
    const throwsByKind = new Map<string, number>();
    const count = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);
    const checkError = (error: unknown, c: Case, which: Problem['path']): void => {
      count(throwsByKind, error instanceof SecgateError ? error.constructor.name : `raw ${String((error as Error)?.name)}`);
      const message = errorMessage(error);
      if (!(error instanceof SecgateError)) problems.push({ caseId: c.caseId, path: which, kind: 'raw JS error', what: `not a SecgateError: ${String((error as Error)?.name)}: ${message.slice(0, 200)}` });
      else if (RAW_JS_ERROR.test(message)) problems.push({ caseId: c.caseId, path: which, kind: 'raw JS error', what: `raw JavaScript error text: ${message.slice(0, 300)}` });
      if (message.includes(KEY)) problems.push({ caseId: c.caseId, path: which, kind: 'key shown', what: `in the error: ${message.slice(0, 200)}` });
    };
    const started = Date.now();

    const runCase = async (c: Case): Promise<void> => {
      const entry = tally.get(c.base.name) ?? { cases: 0, parse: { error: 0, report: 0 }, engine: {} };
      tally.set(c.base.name, entry);
      entry.cases++;
      const before = problems.length;
      const scratch = await mkdtemp(path.join(root, `case-${c.index}-`));
      try {
        const outcome = parsePath(c.base, c.report, hitlogFor(c.base, c.hitlog, scratch), scratch);
        if (outcome.report) {
          entry.parse.report++;
          const report = outcome.report;
          if (report.findings.length === 0 && (report.unchecked?.length ?? 0) === 0) {
            problems.push({ caseId: c.caseId, path: 'parse', kind: 'silent pass', what: `no finding, nothing unchecked; metrics ${(report.metrics ?? []).map((m) => `${m.id} ${m.verdict}`).join(', ')}` });
          }
          const why = malformed(report, c.base);
          if (why) problems.push({ caseId: c.caseId, path: 'parse', kind: 'malformed report', what: why });
          if (JSON.stringify(report).includes(KEY)) {
            const where = report.findings.some((f) => `${f.title}\n${f.message}`.includes(KEY)) ? 'a finding' : 'the report (warnings, facts, unchecked)';
            problems.push({ caseId: c.caseId, path: 'parse', kind: 'key shown', what: `in ${where}` });
          }
        } else {
          entry.parse.error++;
          checkError(outcome.error, c, 'parse');
        }
        if (c.viaEngine) {
          let result: ScanResult | undefined;
          try {
            result = await enginePath(c.base, c.report, c.hitlog, scratch);
          } catch (error) {
            problems.push({ caseId: c.caseId, path: 'engine', kind: 'runScan threw', what: errorMessage(error).slice(0, 200) });
          }
          if (result) {
            entry.engine[result.verdict] = (entry.engine[result.verdict] ?? 0) + 1;
            if (result.verdict === 'pass') problems.push({ caseId: c.caseId, path: 'engine', kind: 'silent pass', what: `verdict pass (${result.tools.flatMap((t) => t.warnings).join('; ').slice(0, 200)})` });
            for (const error of result.errors) checkError(error, c, 'engine');
            try {
              const built = [JSON.stringify(buildSarif(result)), JSON.stringify(buildJsonReport(result)), buildSummary(result)];
              if (built.some((text) => text.includes(KEY))) problems.push({ caseId: c.caseId, path: 'engine', kind: 'key shown', what: 'in the SARIF, JSON report or summary' });
            } catch (error) {
              problems.push({ caseId: c.caseId, path: 'engine', kind: 'report building threw', what: errorMessage(error).slice(0, 200) });
            }
          }
        }
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
      if (DUMP && problems.length > before) {
        mkdirSync(DUMP, { recursive: true });
        const stem = path.join(DUMP, `${SEED}-${c.index}-${c.base.name}-${c.mutation.kind.replace(/[^a-z0-9:-]/gi, '_')}`);
        writeFileSync(`${stem}.report`, c.report);
        if (c.hitlog) writeFileSync(`${stem}.hitlog`, c.hitlog);
      }
    };

    // A few cases at a time: engine cases spawn a short process.
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < cases.length) await runCase(cases[next++]!);
      })
    );

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const byKind = new Map<string, number>();
    for (const p of problems) count(byKind, `${p.kind} (${p.path})`);
    const silentPasses = problems.filter((p) => p.kind === 'silent pass').length;
    const rawErrors = problems.filter((p) => p.kind === 'raw JS error').length;
    const mutations = new Map<string, number>();
    for (const c of cases) count(mutations, c.mutation.kind.replace(/^hitlog /, ''));
    const perBase = [...tally].map(([name, t]) => `${name} ${t.cases} (parse ${t.parse.error} error/${t.parse.report} report; engine ${Object.entries(t.engine).map(([v, n]) => `${v} ${n}`).join('/') || '-'})`);
    process.stdout.write(
      `adversarial fuzz seed ${SEED}: ${cases.length} cases, ${cases.filter((c) => c.viaEngine).length} also through the engine, ${seconds} s; ` +
        `silent passes ${silentPasses}, raw JS errors ${rawErrors}; ${problems.length} problem(s): ${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}\n` +
        `  throws by kind: ${[...throwsByKind].sort().map(([k, n]) => `${k} ${n}`).join(', ')}\n` +
        `  per base: ${perBase.join('; ')}\n  mutations: ${[...mutations].sort().map(([k, n]) => `${k} ${n}`).join(', ')}\n`
    );
    if (problems.length > 0) {
      process.stdout.write(`adversarial fuzz problems (rerun with SECGATE_FUZZ_SEED=${SEED}):\n${problems.slice(0, 40).map((p) => `  ${p.caseId} [${p.path}] ${p.kind}: ${p.what}`).join('\n')}\n`);
    }
    expect(cases.length).toBeGreaterThanOrEqual(Math.min(CASES, 600));
    expect({ seed: SEED, problems: problems.slice(0, 20) }).toEqual({ seed: SEED, problems: [] });
  }, 300_000);
});
