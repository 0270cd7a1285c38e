/**
 * Fuzz: mutated REAL reports of the container stage's tools never pass, never surface a raw
 * JavaScript error, never come out as a malformed finding, and never break report building.
 *
 * Bases (each fails the gate unmutated, checked by the first test):
 * - trivy 0.74.0 `fs` on fixtures/iac-project (misconfigurations and the planted secret), run at
 *   test time through the adapter's own command; the upstream goldens of ../shared/fixtures/upstream/trivy
 *   (an image scan, Dockerfile, Terraform, secrets, poetry), read at run time;
 * - hadolint 2.15.1 on the project's two Dockerfiles, run at test time through the adapter's command;
 * - Checkov 3.3.30: the two committed real reports in fuzz-seeds/checkov-3.3.30 (README there);
 * - Clair v4: the upstream API-doc vulnerability report (read at run time; only its manifest_hash set
 *   to the test image's, as test/helpers/clair-api.ts does), served by a loopback Clair to the real
 *   client (`scanArchiveWithClair`): the text goes through the adapter's own body reading.
 *
 * Each case applies one seeded mutation (the sast suite's mutators, ../../sast/test/fuzz-mutators.ts,
 * or for 15% of the cases of bases with file paths `pathEscape` below: a path out of the scanned
 * tree) and takes two paths, as the sast suite does:
 * 1. parse: the adapter's `exitMeaning` with the real run's exit code, then `parse` (+ `combine`) on
 *    the mutated text, with the engine's rule that an exit code saying "findings" with nothing read
 *    is an error. Verdict: error on a throw, fail when a finding is at or above the base's
 *    threshold, else pass. Every finding must be well formed: the adapter's tool id, a rule id, a
 *    severity of the scale, a workspace-relative location without `..`, integer lines ≥ 1, and no
 *    planted token in its title or message. A truncated report must throw or read every finding.
 * 2. engine (a seeded share): `runScan` with the real adapter whose `command()` runs `/bin/sh`,
 *    exiting with the real exit code and handing over the mutated file (report file or stdout);
 *    Clair's real `collect` against the loopback Clair. Then SARIF, JSON report and summary.
 *
 * The garblings found so far are also fixed cases (`it.each` below), each a ToolOutputError.
 * Clair only: a mutation can write a real clean report (`package_vulnerabilities` null or `{}`, a
 * package's list null: Go's nil map and slice). Such cases are counted as "clean shape", not asserted.
 * SECGATE_FUZZ_SEED, SECGATE_FUZZ_CASES (default 1,200) and SECGATE_FUZZ_ENGINE_SHARE (default
 * 0.12: each engine case spawns a process) override the defaults; SECGATE_FUZZ_DUMP names a
 * directory for each problem case's mutated bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  SEVERITIES,
  SecgateError,
  buildJsonReport,
  buildSarif,
  buildSummary,
  duplicateJsonKey,
  runScan,
  severityRank,
  silentLogger,
  type InstalledTool,
  type ParsedReport,
  type RawFinding,
  type ScanResult,
  type Severity,
  type ToolAdapter,
  type ToolContext,
  type ToolInstaller,
  type ToolInvocation
} from '@secgate/core';
import { containerStage } from '@secgate/container';
import { checkovAdapter, type CheckovPlan } from '../src/adapters/checkov.js';
import { clairAdapter, scanArchiveWithClair } from '../src/adapters/clair.js';
import { hadolintAdapter } from '../src/adapters/hadolint.js';
import { trivyAdapter } from '../src/adapters/trivy.js';
import { readImageArchive, type ImageArchive } from '../src/image.js';
import { loadClairExample } from '../../../test/helpers/clair-api.js';
import { debianBaseLayer, pythonPackagesLayer, writeDockerArchive } from '../../../test/helpers/image-tar.js';
import { REPO_ROOT, requireTool } from '../../../test/helpers/runner.js';
import { JSON_MUTATORS, mutate, prng, type Mutation, type Random } from '../../sast/test/fuzz-mutators.js';

const SEED = Number(process.env['SECGATE_FUZZ_SEED'] ?? 20260601);
const CASES = Number(process.env['SECGATE_FUZZ_CASES'] ?? 1200);
const ENGINE_SHARE = Number(process.env['SECGATE_FUZZ_ENGINE_SHARE'] ?? 0.12);
const DUMP = process.env['SECGATE_FUZZ_DUMP'];
/** Share of cases (of bases with file paths) mutated by `pathEscape` instead of the sast mutators. */
const PATH_SHARE = 0.15;
const TEST_DIR = path.join(REPO_ROOT, 'packages', 'container', 'test');
const IAC_PROJECT = path.join(TEST_DIR, 'fixtures', 'iac-project');
const CHECKOV_SEEDS = path.join(TEST_DIR, 'fuzz-seeds', 'checkov-3.3.30');
const UPSTREAM = path.join(REPO_ROOT, '..', 'shared', 'fixtures', 'upstream');
const TRIVY = process.env['SECGATE_TRIVY'] ?? path.join(os.homedir(), '.cache', 'secgate-ci', 'trivy-0.74.0', 'trivy');
const HADOLINT = path.join(os.homedir(), '.cache', 'secgate-ci', 'hadolint-2.15.1', 'hadolint');
/** Where the checkov seeds were written (fuzz-seeds/README.md): their absolute paths start here. */
const CHECKOV_SEED_ROOT = '/tmp/secgate-fuzz-seed';
/** The token planted in iac-project/docker/Dockerfile's ENV line: never in a finding's text. */
const PLANTED_TOKEN = 'ghp_R8x2Kq7Lm4Zt9Wv3Yb6Nc1Pd5Sf0Hj2Gk8Qe';

/** What raw JavaScript errors look like; none may be the explanation a user gets. */
const RAW_JS_ERROR =
  /Cannot read propert|is not a function|is not iterable|Maximum call stack|Unexpected token|Unexpected end of JSON|is not valid JSON|undefined is not|null is not|Invalid array length|Invalid string length|unexpected error:|parser exception|internal error in secgate/;

type Verdict = 'pass' | 'fail' | 'error';

interface Base {
  name: string;
  adapter: ToolAdapter;
  original: Buffer;
  /** Where the findings array is: the mutators never replace it by an empty one (a real clean report). */
  findingsPath: (string | number)[];
  workspace: string;
  options: Record<string, string>;
  /** Process tools: the real run's exit code and a fresh invocation (its `data` is written by exitMeaning). */
  exitCode?: number;
  invocation?: () => ToolInvocation;
  /** Clair: the report served by the loopback Clair and read by the real client. */
  clair?: { archive: ImageArchive; imageTar: string };
  /** The mutated document is a real clean report (Clair only). */
  cleanShape?: (doc: unknown) => boolean;
  /** Findings of the unmutated report, and the gate threshold: its top severity, at most high. */
  originalCount: number;
  failOn: Severity;
}

type BaseSpec = Omit<Base, 'originalCount' | 'failOn'>;
/** A parsed report, as the fixed cases below edit it. */
type Json = any;

// ---------------------------------------------------------------------------------------------
// One mutation of our own, next to the sast suite's: their huge strings are never a usable path
// (longer than PATH_MAX), so none tries a path that climbs out of the scanned tree.

const PATH_KEYS = new Set(['Target', 'file', 'file_path', 'file_abs_path']);
const ESCAPING_PATHS = ['../../etc/passwd', '/etc/passwd', '../outside.tf', 'docker/../../outside', '..', './../x'];

/** A file path of the report set to one outside the scanned tree; Checkov's pair (file_path, file_abs_path) kept consistent. */
function pathEscape(original: Buffer, random: Random): Mutation {
  const root = JSON.parse(original.toString('utf8')) as unknown;
  const holders: Record<string, unknown>[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) stack.push(...(value as unknown[]));
    else if (value !== null && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      if (Object.keys(object).some((key) => PATH_KEYS.has(key) && typeof object[key] === 'string')) holders.push(object);
      stack.push(...Object.values(object));
    }
  }
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  if (holders.length > 0) {
    const holder = pick(holders);
    if (typeof holder['file_path'] === 'string' && typeof holder['file_abs_path'] === 'string' && random() < 0.7) {
      // Consistent for the parser's check (the -d directory joined with file_path is file_abs_path).
      const filePath = holder['file_path'];
      const climb = random() < 0.5;
      holder['file_path'] = climb ? `${'/..'.repeat(12)}/etc/passwd` : `${path.posix.dirname(filePath)}/../outside.tf`;
      holder['file_abs_path'] = climb ? '/etc/passwd' : path.posix.normalize(`${path.posix.dirname(holder['file_abs_path'])}/../outside.tf`);
    } else {
      holder[pick(Object.keys(holder).filter((key) => PATH_KEYS.has(key) && typeof holder[key] === 'string'))] = pick(ESCAPING_PATHS);
    }
  }
  return { kind: 'path-escape', bytes: Buffer.from(JSON.stringify(root, null, 2)) };
}

// ---------------------------------------------------------------------------------------------
// Loopback Clair: answers the index at once (IndexFinished) and serves each case's report bytes
// under its own base path (`/<key>/…`), so concurrent cases do not share an answer.

interface FakeClair {
  url: string;
  serve(key: string, bytes: Buffer): void;
  forget(key: string): void;
  close(): Promise<void>;
}

async function startFakeClair(manifestDigest: string): Promise<FakeClair> {
  const index = Buffer.from(JSON.stringify({ ...loadClairExample('index_report.json'), manifest_hash: manifestDigest, state: 'IndexFinished', success: true, err: '' }));
  const reports = new Map<string, Buffer>();
  const server: Server = createServer((req, res) => {
    req.resume();
    const match = /^\/([a-z0-9-]+)(\/.*)$/.exec(req.url ?? '');
    const bytes = match ? reports.get(match[1]!) : undefined;
    if (!match || !bytes) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"not-found","message":"no such case"}');
      return;
    }
    if (req.method === 'POST' && match[2] === '/indexer/api/v1/index_report') {
      res.writeHead(201, { 'content-type': 'application/json' }).end(index);
    } else if (req.method === 'GET' && match[2] === `/matcher/api/v1/vulnerability_report/${manifestDigest}`) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(bytes);
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"not-found","message":"unexpected request"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    serve: (key, bytes) => void reports.set(key, bytes),
    forget: (key) => void reports.delete(key),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })
  };
}

// ---------------------------------------------------------------------------------------------
// The two paths

function context(base: Base, workDir: string): ToolContext {
  return { workspace: base.workspace, targets: ['.'], exclude: [], workDir, options: base.options, logger: silentLogger };
}

const verdictOf = (report: ParsedReport, failOn: Severity): Verdict =>
  report.findings.some((f) => SEVERITIES.includes(f.severity) && severityRank(f.severity) >= severityRank(failOn)) ? 'fail' : 'pass';

/** The engine's reading of one report, without the engine: exit meaning, parse, combine, the exit rule. */
async function parsePath(base: Base, bytes: Buffer, fake: FakeClair, key: string, workDir: string): Promise<{ verdict: Verdict; report?: ParsedReport; error?: unknown }> {
  try {
    let report: ParsedReport;
    if (base.clair) {
      fake.serve(key, bytes);
      try {
        report = await scanArchiveWithClair(base.clair.archive, new URL(`${fake.url}/${key}`), { layerHost: '127.0.0.1', unknownSeverity: 'high' }, FAST_CLAIR);
      } finally {
        fake.forget(key);
      }
    } else {
      const invocation = base.invocation!();
      const meaning = base.adapter.exitMeaning(base.exitCode!, invocation);
      const parsed = base.adapter.parse(bytes.toString('utf8'), context(base, workDir), invocation);
      report = base.adapter.combine ? base.adapter.combine([parsed]) : parsed;
      if (meaning === 'findings' && report.findings.length + (report.dropped ?? 0) === 0) return { verdict: 'error', report };
    }
    return { verdict: verdictOf(report, base.failOn), report };
  } catch (error) {
    return { verdict: 'error', error };
  }
}

const FAST_CLAIR = { attempts: 1, backoffMs: 5, pollIntervalMs: 5, requestTimeoutMs: 10_000, deadlineMs: 60_000 };

/** Installs nothing: every tool "is" a shell that exits with its first argument, after printing the file it is given on stdout when asked. */
const shellInstaller = {
  async install(spec: { tool: string }): Promise<InstalledTool> {
    return {
      tool: spec.tool,
      version: 'fuzz',
      command: '/bin/sh',
      baseArgs: ['-c', 'if [ "$1" = stdout ]; then cat "$2"; fi; exit "$0"'],
      dir: '/bin',
      cacheHit: true,
      durationMs: 0,
      verified: true
    };
  }
} as unknown as ToolInstaller;

async function enginePath(base: Base, bytes: Buffer, fake: FakeClair, key: string, scratch: string): Promise<ScanResult> {
  let adapter: ToolAdapter;
  let options = base.options;
  if (base.clair) {
    fake.serve(key, bytes);
    adapter = clairAdapter;
    options = { ...options, 'clair-url': `${fake.url}/${key}`, 'image-tar': base.clair.imageTar };
  } else {
    const file = path.join(scratch, 'report');
    await writeFile(file, bytes);
    const planned = base.invocation!();
    const fromFile = planned.reportFile !== undefined;
    const invocation: ToolInvocation = { ...planned, args: [String(base.exitCode), fromFile ? 'file' : 'stdout', file], ...(fromFile ? { reportFile: file } : {}) };
    adapter = { ...base.adapter, skip: undefined, command: () => invocation };
  }
  try {
    return await runScan(
      {
        stages: [{ ...containerStage, adapters: [adapter], defaultTools: [adapter.id] }],
        workspace: base.workspace,
        targets: ['.'],
        exclude: [],
        tools: [],
        policy: { failOn: base.failOn, reportSeverity: 'info', newOnly: 'off', exceptions: [] },
        options,
        timeoutsMs: {},
        now: new Date('2026-06-01T00:00:00Z'),
        tempDir: path.join(scratch, 'scan')
      },
      { installer: shellInstaller, logger: silentLogger }
    );
  } finally {
    fake.forget(key);
  }
}

/** Why a finding is not well formed, or undefined. */
function malformed(finding: RawFinding, base: Base): string | undefined {
  if (finding.tool !== base.adapter.id) return `tool ${JSON.stringify(finding.tool)}`;
  // ReportReader.word's contract: non-empty, no control characters.
  if (typeof finding.ruleId !== 'string' || finding.ruleId === '' || /[\u0000-\u001f\u007f]/.test(finding.ruleId)) return `rule id ${JSON.stringify(String(finding.ruleId).slice(0, 60))}`;
  if (!SEVERITIES.includes(finding.severity)) return `severity ${JSON.stringify(finding.severity)}`;
  if (`${finding.title}\n${finding.message}`.includes(PLANTED_TOKEN)) return 'the planted token in its title or message';
  const location = finding.location;
  if (location) {
    const file = location.path;
    if (typeof file !== 'string' || file === '' || path.posix.isAbsolute(file) || /^[A-Za-z]:/.test(file) || file.split(/[\\/]/).includes('..')) {
      return `location path ${JSON.stringify(String(file).slice(0, 120))}`;
    }
    for (const key of ['startLine', 'endLine', 'startColumn'] as const) {
      const value = location[key];
      if (value !== undefined && !(Number.isInteger(value) && value >= 1)) return `${key} ${String(value)}`;
    }
    if (location.startLine !== undefined && location.endLine !== undefined && location.endLine < location.startLine) return `endLine ${location.endLine} before startLine ${location.startLine}`;
  }
  return undefined;
}

/** The Clair report holds nothing vulnerable: `package_vulnerabilities` null or empty, or every list in it null or empty. */
function clairCleanShape(doc: unknown): boolean {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return false;
  const affected = (doc as Record<string, unknown>)['package_vulnerabilities'];
  if (affected === null) return true;
  if (typeof affected !== 'object' || Array.isArray(affected)) return false;
  return Object.values(affected as object).every((list) => list === null || (Array.isArray(list) && list.length === 0));
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 180_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

const realTool = (tool: string, command: string): InstalledTool => ({ tool, version: 'real', command, baseArgs: [], dir: path.dirname(command), cacheHit: true, durationMs: 0, verified: true });

/** A fresh copy of the invocation, its `data` (and trivy's exit record) not shared between cases. */
function freshInvocation(invocation: ToolInvocation): () => ToolInvocation {
  return () => ({ ...invocation, data: invocation.data ? { ...invocation.data, ...('exit' in invocation.data ? { exit: {} } : {}) } : undefined });
}

// ---------------------------------------------------------------------------------------------

describe(`container fuzz: mutated real reports (seed ${SEED}, ${CASES} cases)`, () => {
  let root: string;
  let fake: FakeClair | undefined;
  const bases: Base[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'secgate-container-fuzz-'));
    const project = path.join(root, 'iac-project');
    await cp(IAC_PROJECT, project, { recursive: true });
    const specs: BaseSpec[] = [];

    // trivy fs on the project, as the adapter runs it.
    if (requireTool(existsSync(TRIVY), `trivy 0.74.0 (${TRIVY})`)) {
      const workDir = await mkdtemp(path.join(root, 'trivy-work-'));
      const planned = await trivyAdapter.command(realTool('trivy', TRIVY), { workspace: project, targets: ['.'], exclude: [], workDir, options: { scanners: 'misconfig,secret' }, logger: silentLogger });
      const [invocation] = Array.isArray(planned) ? planned : [planned];
      const result = await run(TRIVY, invocation!.args, project, invocation!.env);
      if (result.code !== 5) throw new Error(`trivy fs exited ${result.code}, not 5 (findings): ${result.stderr.slice(-400)}`);
      specs.push({
        name: 'trivy-fs-iac',
        adapter: trivyAdapter,
        original: await readFile(invocation!.reportFile!),
        findingsPath: ['Results'],
        workspace: project,
        options: {},
        exitCode: 5,
        invocation: freshInvocation(invocation!)
      });
    }

    // trivy's upstream goldens (read at run time).
    const trivyInvocation = (data: Record<string, unknown>): (() => ToolInvocation) => freshInvocation({ args: [], reportFile: 'report.json', mode: String(data['mode']), data: { ...data, exit: {} } });
    const goldens: [string, string, Record<string, unknown>][] = [
      ['trivy-image-alpine', 'alpine-310.json.golden', { mode: 'image', imageLabel: 'image-tar images/alpine.tar', imageLocation: { path: 'docker/Dockerfile', startLine: 2, endLine: 2 } }],
      ['trivy-dockerfile', 'dockerfile.json.golden', { mode: 'fs', scanRoot: '.', scanRootIsFile: false }],
      ['trivy-terraform', 'trivy-action_config-scan_report.json', { mode: 'fs', scanRoot: 'terraform', scanRootIsFile: false }],
      ['trivy-secrets', 'secrets.json.golden', { mode: 'fs', scanRoot: '.', scanRootIsFile: false }],
      ['trivy-poetry', 'poetry.json.golden', { mode: 'fs', scanRoot: '.', scanRootIsFile: false }]
    ];
    for (const [name, file, data] of goldens) {
      const full = path.join(UPSTREAM, 'trivy', file);
      if (!requireTool(existsSync(full), `upstream sample ${full}`)) continue;
      specs.push({ name, adapter: trivyAdapter, original: readFileSync(full), findingsPath: ['Results'], workspace: project, options: {}, exitCode: 5, invocation: trivyInvocation(data) });
    }

    // hadolint on the project's Dockerfiles, as the adapter runs it.
    if (requireTool(existsSync(HADOLINT), `hadolint 2.15.1 (${HADOLINT})`)) {
      const workDir = await mkdtemp(path.join(root, 'hadolint-work-'));
      const planned = await hadolintAdapter.command(realTool('hadolint', HADOLINT), { workspace: project, targets: ['.'], exclude: [], workDir, options: {}, logger: silentLogger });
      const [invocation] = Array.isArray(planned) ? planned : [planned];
      const result = await run(HADOLINT, invocation!.args, project, invocation!.env);
      expect(result.code).toBe(0);
      specs.push({ name: 'hadolint', adapter: hadolintAdapter, original: Buffer.from(result.stdout), findingsPath: [], workspace: project, options: {}, exitCode: 0, invocation: freshInvocation(invocation!) });
    }

    // Checkov: the committed real reports (fuzz-seeds/README.md), with the plan of that run. The
    // chart is not in them: no unchecked item, so the verdict rests on the findings alone.
    const checkovPlan = (workspace: string, dirs: string[]): CheckovPlan => ({ workspace, dirs, files: [], unrenderedCharts: [], exclude: [], unknownSeverity: 'high' });
    const checkovSeeds: [string, string, CheckovPlan, string][] = [
      ['checkov-terraform-docker', 'terraform-and-clean-docker.json', checkovPlan(`${CHECKOV_SEED_ROOT}/iac-project`, [`${CHECKOV_SEED_ROOT}/iac-project/terraform`, `${CHECKOV_SEED_ROOT}/iac-project/clean/docker`]), project],
      ['checkov-parse-errors', 'parse-errors.json', checkovPlan(CHECKOV_SEED_ROOT, [`${CHECKOV_SEED_ROOT}/parse-errors`]), path.join(TEST_DIR, 'fixtures', 'checkov')]
    ];
    for (const [name, file, plan, workspace] of checkovSeeds) {
      const reportFile = path.join(root, `${name}.json`);
      specs.push({
        name,
        adapter: checkovAdapter,
        original: readFileSync(path.join(CHECKOV_SEEDS, file)),
        findingsPath: [],
        workspace,
        options: {},
        exitCode: 1,
        invocation: () => ({ args: [], reportFile, data: { plan } })
      });
    }

    // Clair: the upstream example report for the test image, through the real client.
    const clairSample = path.join(UPSTREAM, 'clair', 'vulnerability_report.json');
    if (requireTool(existsSync(clairSample), `upstream sample ${clairSample}`)) {
      const clairWorkspace = path.join(root, 'clair-workspace');
      await mkdir(path.join(clairWorkspace, 'images'), { recursive: true });
      const imageTar = 'images/fuzz.tar';
      await writeDockerArchive({ layers: [debianBaseLayer(), pythonPackagesLayer([{ name: 'PyYAML', version: '5.3' }])], history: ['ADD rootfs.tar /', 'RUN pip install PyYAML==5.3'] }, path.join(clairWorkspace, imageTar));
      const archive = await readImageArchive(path.join(clairWorkspace, imageTar));
      fake = await startFakeClair(archive.manifestDigest);
      specs.push({
        name: 'clair',
        adapter: clairAdapter,
        original: Buffer.from(JSON.stringify({ ...loadClairExample('vulnerability_report.json'), manifest_hash: archive.manifestDigest }, null, 2)),
        findingsPath: ['package_vulnerabilities'],
        workspace: clairWorkspace,
        options: {},
        clair: { archive, imageTar },
        cleanShape: clairCleanShape
      });
    }

    // Each base's finding count and gate threshold, from its unmutated report.
    for (const spec of specs) {
      const probe: Base = { ...spec, originalCount: 0, failOn: 'info' };
      const parsed = await parsePath(probe, spec.original, fake!, `probe-${spec.name}`, root);
      if (!parsed.report) throw new Error(`${spec.name}: the unmutated report does not parse: ${String(parsed.error)}`);
      const top = Math.max(...parsed.report.findings.map((f) => severityRank(f.severity)));
      const failOn = SEVERITIES.find((s) => severityRank(s) === Math.min(top, severityRank('high')))!;
      bases.push({ ...spec, originalCount: parsed.report.findings.length, failOn });
    }
  }, 180_000);

  afterAll(async () => {
    await fake?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('the unmutated reports fail the gate on both paths, with well-formed findings (the premise of every case)', async () => {
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) {
      const parsed = await parsePath(base, base.original, fake!, `premise-${base.name}`, root);
      expect([base.name, parsed.verdict, parsed.report?.findings.map((f) => malformed(f, base)).filter((m) => m !== undefined)]).toEqual([base.name, 'fail', []]);
      const scratch = await mkdtemp(path.join(root, `premise-${base.name}-`));
      const result = await enginePath(base, base.original, fake!, `premise-engine-${base.name}`, scratch);
      expect([base.name, result.verdict, result.errors.map((e) => e.message)]).toEqual([base.name, 'fail', []]);
    }
    process.stdout.write(`container fuzz bases: ${bases.map((b) => `${b.name} (${b.originalCount} findings, fail-on ${b.failOn})`).join('; ')}\n`);
  }, 120_000);

  // The garblings the fuzz found (or could only find by luck), each a fixed case: every one must
  // be a ToolOutputError, never a finding placed outside the scanned tree or a clean report.
  it.each([
    ['trivy-secrets', 'a Target climbing out of the scanned directory', (doc: Json) => void (doc['Results'][0]['Target'] = '../../etc/passwd')],
    ['trivy-secrets', 'an absolute Target (read as workspace-relative etc/passwd before)', (doc: Json) => void (doc['Results'][0]['Target'] = '/etc/passwd')],
    ['trivy-terraform', 'a Target leaving the scanned iac path for a sibling', (doc: Json) => void (doc['Results'][0]['Target'] = '../docker/Dockerfile')],
    [
      'checkov-parse-errors',
      'a consistent file_path/file_abs_path pair climbing to /etc/passwd',
      (doc: Json) => void Object.assign(doc['results']['failed_checks'][0], { file_path: `${'/..'.repeat(12)}/etc/passwd`, file_abs_path: '/etc/passwd' })
    ],
    [
      'checkov-parse-errors',
      'a consistent pair naming a file beside the -d directory',
      (doc: Json) => void Object.assign(doc['results']['failed_checks'][0], { file_path: '//../outside.tf', file_abs_path: `${CHECKOV_SEED_ROOT}/outside.tf` })
    ],
    ['clair', 'package_vulnerabilities repeated, the last one null (JSON.parse keeps it: a clean report)', 'duplicate-null' as const]
  ])('%s: %s is a ToolOutputError', async (name, _what, change) => {
    const base = bases.find((b) => b.name === name);
    if (!requireTool(base !== undefined, `fuzz base ${name}`)) return;
    const doc = JSON.parse(base!.original.toString('utf8')) as Json;
    let text: string;
    if (change === 'duplicate-null') {
      text = JSON.stringify(doc, null, 2).replace(/\n}\s*$/, ',\n  "package_vulnerabilities": null\n}\n');
      expect(duplicateJsonKey(text)).toBe('package_vulnerabilities');
    } else {
      change(doc);
      text = JSON.stringify(doc, null, 2);
    }
    const parsed = await parsePath(base!, Buffer.from(text), fake!, `known-${name}`, root);
    expect([parsed.verdict, (parsed.error as Error | undefined)?.constructor.name, parsed.report?.findings.map((f) => f.location?.path)]).toEqual(['error', 'ToolOutputError', undefined]);
  });

  it('no mutated report passes, surfaces a raw JavaScript error or a malformed finding, or breaks report building', async () => {
    const random: Random = prng(SEED);
    interface Case {
      index: number;
      caseId: string;
      base: Base;
      mutation: Mutation;
      viaEngine: boolean;
    }
    const cases: Case[] = Array.from({ length: CASES }, (_, index) => {
      const base = bases[index % bases.length]!;
      const mutation = base.clair === undefined && random() < PATH_SHARE ? pathEscape(base.original, random) : mutate(base.original, random, JSON_MUTATORS, base.findingsPath);
      return { index, caseId: `#${index} ${base.name} ${mutation.kind}`, base, mutation, viaEngine: random() < ENGINE_SHARE };
    });

    interface Problem {
      caseId: string;
      path: 'parse' | 'engine';
      kind: 'silent pass' | 'raw JS error' | 'malformed finding' | 'truncated report read short' | 'runScan threw' | 'report building threw';
      what: string;
    }
    const problems: Problem[] = [];
    const tally = new Map<string, { cases: number; parse: Record<Verdict | 'clean shape', number>; engine: Record<Verdict | 'clean shape', number> }>();
    const throwsByKind = new Map<string, number>();
    const count = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);
    const checkError = (error: unknown, c: Case, which: 'parse' | 'engine'): void => {
      count(throwsByKind, `${which} ${error instanceof SecgateError ? error.constructor.name : `raw ${String((error as Error)?.name)}`}`);
      if (!(error instanceof SecgateError)) {
        problems.push({ caseId: c.caseId, path: which, kind: 'raw JS error', what: `not a SecgateError: ${String((error as Error)?.name)}: ${String((error as Error)?.message).slice(0, 200)}` });
      } else if (RAW_JS_ERROR.test(error.message)) {
        problems.push({ caseId: c.caseId, path: which, kind: 'raw JS error', what: `raw JavaScript error text: ${error.message.slice(0, 300)}` });
      }
    };
    const started = Date.now();

    const runCase = async (c: Case): Promise<void> => {
      const entry = tally.get(c.base.name) ?? { cases: 0, parse: { pass: 0, fail: 0, error: 0, 'clean shape': 0 }, engine: { pass: 0, fail: 0, error: 0, 'clean shape': 0 } };
      tally.set(c.base.name, entry);
      entry.cases++;
      const before = problems.length;
      const text = c.mutation.bytes.toString('utf8');
      let cleanShape = false;
      if (c.base.cleanShape) {
        try {
          // Parsed first: duplicateJsonKey reads valid JSON only.
          const doc: unknown = JSON.parse(text);
          cleanShape = c.base.cleanShape(doc) && duplicateJsonKey(text) === undefined;
        } catch {
          cleanShape = false;
        }
      }
      const scratch = await mkdtemp(path.join(root, `case-${c.index}-`));
      try {
        const parsed = await parsePath(c.base, c.mutation.bytes, fake!, `p${c.index}`, scratch);
        entry.parse[cleanShape ? 'clean shape' : parsed.verdict]++;
        if (parsed.verdict === 'pass' && !cleanShape) problems.push({ caseId: c.caseId, path: 'parse', kind: 'silent pass', what: 'verdict pass' });
        if (parsed.error !== undefined) checkError(parsed.error, c, 'parse');
        for (const finding of parsed.report?.findings ?? []) {
          const why = malformed(finding, c.base);
          if (why) {
            problems.push({ caseId: c.caseId, path: 'parse', kind: 'malformed finding', what: `${JSON.stringify(String(finding.ruleId).slice(0, 60))}: ${why}` });
            break;
          }
        }
        if (c.mutation.kind === 'truncate' && parsed.error === undefined && (parsed.report?.findings.length ?? 0) < c.base.originalCount) {
          problems.push({ caseId: c.caseId, path: 'parse', kind: 'truncated report read short', what: `${parsed.report?.findings.length ?? 0} of ${c.base.originalCount} findings, no error` });
        }
        if (c.viaEngine) {
          let result: ScanResult | undefined;
          try {
            result = await enginePath(c.base, c.mutation.bytes, fake!, `e${c.index}`, scratch);
          } catch (error) {
            problems.push({ caseId: c.caseId, path: 'engine', kind: 'runScan threw', what: `runScan threw ${String(error).slice(0, 200)}` });
          }
          if (result) {
            entry.engine[cleanShape ? 'clean shape' : result.verdict]++;
            if (result.verdict === 'pass' && !cleanShape) problems.push({ caseId: c.caseId, path: 'engine', kind: 'silent pass', what: `verdict pass (${result.tools.flatMap((t) => t.warnings).join('; ').slice(0, 200)})` });
            for (const error of result.errors) checkError(error, c, 'engine');
            for (const finding of result.findings) {
              if (`${finding.title}\n${finding.message}`.includes(PLANTED_TOKEN)) problems.push({ caseId: c.caseId, path: 'engine', kind: 'malformed finding', what: `${finding.ruleId}: the planted token in its text` });
            }
            try {
              buildSarif(result);
              buildJsonReport(result);
              buildSummary(result);
            } catch (error) {
              problems.push({ caseId: c.caseId, path: 'engine', kind: 'report building threw', what: `report building threw ${String(error).slice(0, 200)}` });
            }
          }
        }
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
      if (DUMP && problems.length > before) {
        mkdirSync(DUMP, { recursive: true });
        writeFileSync(path.join(DUMP, `${SEED}-${c.index}-${c.base.name}-${c.mutation.kind}.json`), c.mutation.bytes);
      }
    };

    // A few cases at a time: engine cases spawn a short process, Clair cases wait on loopback HTTP.
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < cases.length) await runCase(cases[next++]!);
      })
    );

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const engineCases = cases.filter((c) => c.viaEngine).length;
    const byKind = new Map<string, number>();
    for (const p of problems) count(byKind, `${p.kind} (${p.path})`);
    const silentPasses = problems.filter((p) => p.kind === 'silent pass').length;
    const rawErrors = problems.filter((p) => p.kind === 'raw JS error').length;
    const perBase = [...tally].map(
      ([name, t]) =>
        `${name} ${t.cases} (parse ${t.parse.error} error/${t.parse.fail} fail/${t.parse.pass} pass/${t.parse['clean shape']} clean shape; ` +
        `engine ${t.engine.error}/${t.engine.fail}/${t.engine.pass}/${t.engine['clean shape']})`
    );
    const mutations = new Map<string, number>();
    for (const c of cases) count(mutations, c.mutation.kind);
    process.stdout.write(
      `container fuzz seed ${SEED}: ${cases.length} cases, ${engineCases} also through the engine, ${seconds} s; ` +
        `silent passes ${silentPasses}, raw JS errors ${rawErrors}; ${problems.length} problem(s): ${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}\n` +
        `  throws by kind: ${[...throwsByKind].sort().map(([k, n]) => `${k} ${n}`).join(', ')}\n` +
        `  per base: ${perBase.join('; ')}\n  mutations: ${[...mutations].map(([k, n]) => `${k} ${n}`).join(', ')}\n`
    );
    if (problems.length > 0) {
      process.stdout.write(`container fuzz problems (rerun with SECGATE_FUZZ_SEED=${SEED}):\n${problems.slice(0, 40).map((p) => `  ${p.caseId} [${p.path}] ${p.kind}: ${p.what}`).join('\n')}\n`);
    }
    expect(cases.length).toBeGreaterThanOrEqual(Math.min(CASES, 600));
    expect({ seed: SEED, problems: problems.slice(0, 20) }).toEqual({ seed: SEED, problems: [] });
  }, 300_000);
});
