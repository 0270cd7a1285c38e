/**
 * Fuzz: mutated REAL reports of the sca tools never come out of their parsers as a clean result and
 * never surface a raw JavaScript error.
 *
 * Bases (each with at least one finding or unchecked dependency, checked by the first test):
 * modelscan 0.8.8 and picklescan 1.0.5 on the malicious pickle and torch zip (fixtures/), pip-audit's
 * measured pypi-404 run (every dependency skipped: unchecked, fixtures/pip-audit), and the upstream
 * samples of osv-scanner, snyk, safety and dependabot (../shared/fixtures/upstream, read at run
 * time). npm audit has no committed real report (npm-audit.test.ts runs the real npm): not fuzzed.
 * The mutators are the sast suite's (../../sast/test/fuzz-mutators.ts), seeded.
 *
 * Asserted for every case: the parser throws a SecgateError whose message is not raw JavaScript
 * error text, or returns a report with findings or unchecked entries (never a clean empty one).
 * SECGATE_FUZZ_SEED and SECGATE_FUZZ_CASES override the seed and the count (default 900 cases);
 * SECGATE_FUZZ_DUMP names a directory where each problem case's mutated bytes are written.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SecgateError, type ParsedReport } from '@secgate/core';
import { parseDependabotAlerts } from '../src/adapters/dependabot.js';
import { parseModelscanReport } from '../src/adapters/modelscan.js';
import { parseOsvScannerReport } from '../src/adapters/osv-scanner.js';
import { parsePicklescanOutput } from '../src/adapters/picklescan.js';
import { buildReport, parsePipAuditReport } from '../src/adapters/pip-audit.js';
import { parseSafetyReport } from '../src/adapters/safety.js';
import { parseSnykReport } from '../src/adapters/snyk.js';
import type { ModelFile } from '../src/models.js';
import { REPO_ROOT } from '../../../test/helpers/runner.js';
import { JSON_MUTATORS, TEXT_MUTATORS, mutate, prng, type Random } from '../../sast/test/fuzz-mutators.js';

const SEED = Number(process.env['SECGATE_FUZZ_SEED'] ?? 20260601);
const CASES = Number(process.env['SECGATE_FUZZ_CASES'] ?? 900);
const DUMP = process.env['SECGATE_FUZZ_DUMP'];
const FIXTURES = path.join(REPO_ROOT, 'packages', 'sca', 'test', 'fixtures');
const UPSTREAM = path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'upstream');
/** Where the model fixtures were generated (fixtures/README.md). */
const MODEL_DIR = '/tmp/secgate-model-fixture/models';

const modelFile = (name: string, format: ModelFile['format']): ModelFile => ({ path: `models/${name}`, absolute: `${MODEL_DIR}/${name}`, format, sha256: 'ab'.repeat(32) });

interface Base {
  name: string;
  file: string;
  json: boolean;
  /** Where the findings array is: the mutators never replace it by an empty one (a real clean report). */
  findingsPath: (string | number)[];
  /** The base bytes when they are not the file as is. */
  select?: (original: Buffer) => Buffer;
  /** Mutation kinds that can legitimately yield a valid clean report for this parser: run, not asserted (why: at the base). */
  exclude?: string[];
  parse: (text: string) => ParsedReport | Promise<ParsedReport> | 'not-applicable';
}

const BASES: Base[] = [
  {
    name: 'modelscan-pkl',
    file: path.join(FIXTURES, 'modelscan-0.8.8', 'malicious.pkl.json'),
    json: true,
    findingsPath: ['issues'],
    parse: (text) => parseModelscanReport(text, modelFile('malicious.pkl', 'pickle'))
  },
  {
    name: 'modelscan-zip',
    file: path.join(FIXTURES, 'modelscan-0.8.8', 'malicious-zip.pt.json'),
    json: true,
    findingsPath: ['issues'],
    parse: (text) => parseModelscanReport(text, modelFile('malicious-zip.pt', 'pytorch'))
  },
  {
    name: 'picklescan-pkl',
    file: path.join(FIXTURES, 'picklescan-1.0.5', 'malicious.pkl.txt'),
    json: false,
    findingsPath: [],
    parse: (text) => parsePicklescanOutput(text, modelFile('malicious.pkl', 'pickle'))
  },
  {
    name: 'picklescan-zip',
    file: path.join(FIXTURES, 'picklescan-1.0.5', 'malicious-zip.pt.txt'),
    json: false,
    findingsPath: [],
    parse: (text) => parsePicklescanOutput(text, modelFile('malicious-zip.pt', 'pytorch'))
  },
  {
    name: 'pip-audit',
    file: path.join(FIXTURES, 'pip-audit', 'pypi-404-ml-project.json'),
    json: true,
    findingsPath: ['dependencies'],
    // As pip-audit.test.ts: the parsed dependencies built into a report (every one skipped → unchecked).
    parse: (text) =>
      buildReport(parsePipAuditReport(text), {
        manifest: { path: 'requirements.txt', kind: 'requirements', ecosystem: 'PyPI' },
        declarations: [],
        records: new Map(),
        unknownSeverity: 'high',
        pinnedOnly: false
      })
  },
  {
    name: 'osv-scanner',
    file: path.join(UPSTREAM, 'osv-scanner', 'results-some.json'),
    json: true,
    findingsPath: ['results'],
    // The findings sit two arrays deep (results[].packages[].vulnerabilities): `every-finding` on
    // `results` can set every result's `packages` to [] — osv-scanner's real shape for a scanned
    // lockfile with nothing vulnerable, a valid clean report (seed 3, case #536).
    exclude: ['every-finding'],
    parse: (text) => parseOsvScannerReport(text, { unknownSeverity: 'high' })
  },
  {
    name: 'snyk',
    file: path.join(UPSTREAM, 'snyk', 'test-result-pip-with-remediation.json'),
    json: true,
    findingsPath: ['vulnerabilities'],
    parse: (text) => parseSnykReport(text, '/work/space')
  },
  {
    name: 'safety',
    file: path.join(UPSTREAM, 'safety', 'check_report.json'),
    json: true,
    findingsPath: ['vulnerabilities'],
    // `every-finding` can set the sample's only vulnerability's `ignored` to true: ignored by Safety's
    // own policy, which the parser drops on purpose (with a warning): a valid clean report (seed 4, #1789).
    exclude: ['every-finding'],
    parse: (text) => parseSafetyReport(text, 'requirements.txt', 'click==8.0.4\ninsecure-package==0.1.0\n', 'high')
  },
  {
    name: 'dependabot',
    file: path.join(UPSTREAM, 'dependabot', 'alerts-for-repository.json'),
    json: true,
    findingsPath: [],
    // GitHub's example holds a dismissed alert and an open one; secgate asks for state=open, so the
    // answer it parses (what dependabot.test.ts's fake API serves) is the open alert alone.
    select: (original) => Buffer.from(JSON.stringify((JSON.parse(original.toString('utf8')) as { state?: unknown }[]).filter((a) => a.state === 'open'), null, 2)),
    // parseDependabotAlerts takes the decoded body: bytes that are not JSON never reach it (Octokit
    // decodes the HTTP answer), so those cases are counted as not applicable, not asserted.
    parse: (text) => {
      let alerts: unknown;
      try {
        alerts = JSON.parse(text);
      } catch {
        return 'not-applicable';
      }
      return parseDependabotAlerts(alerts, undefined);
    }
  }
];

/** What raw JavaScript errors look like; none may be the explanation a user gets. */
const RAW_JS_ERROR =
  /Cannot read propert|is not a function|is not iterable|Maximum call stack|Unexpected token|Unexpected end of JSON|is not valid JSON|undefined is not|null is not|Invalid array length|Invalid string length/;

type Outcome = 'error' | 'report' | 'n/a' | 'excluded';

interface Problem {
  caseId: string;
  what: string;
}

async function runParser(base: Base, text: string): Promise<{ outcome: Outcome; problem?: string }> {
  try {
    const report = await base.parse(text);
    if (report === 'not-applicable') return { outcome: 'n/a' };
    if (report.findings.length === 0 && (report.unchecked?.length ?? 0) === 0) return { outcome: 'report', problem: 'silent clean result: no findings, nothing unchecked' };
    return { outcome: 'report' };
  } catch (error) {
    if (!(error instanceof SecgateError)) return { outcome: 'error', problem: `not a SecgateError: ${String((error as Error)?.name)}: ${String((error as Error)?.message).slice(0, 200)}` };
    if (RAW_JS_ERROR.test(error.message)) return { outcome: 'error', problem: `raw JavaScript error text: ${error.message.slice(0, 200)}` };
    return { outcome: 'error' };
  }
}

describe(`sca fuzz: mutated real reports (seed ${SEED}, ${CASES} cases)`, () => {
  const originals = BASES.map((base) => (base.select ?? ((b: Buffer) => b))(readFileSync(base.file)));

  it('the unmutated reports each have findings or unchecked dependencies (the premise of every case)', async () => {
    for (const [i, base] of BASES.entries()) {
      const report = await base.parse(originals[i]!.toString('utf8'));
      expect(report).not.toBe('not-applicable');
      const parsed = report as ParsedReport;
      expect([base.name, parsed.findings.length + (parsed.unchecked?.length ?? 0) > 0]).toEqual([base.name, true]);
    }
  });

  it('no mutated report parses as clean, none surfaces a raw JavaScript error', async () => {
    const random: Random = prng(SEED);
    const problems: Problem[] = [];
    const tally = new Map<string, Record<Outcome, number>>();
    for (let index = 0; index < CASES; index++) {
      const which = index % BASES.length;
      const base = BASES[which]!;
      const mutation = mutate(originals[which]!, random, base.json ? JSON_MUTATORS : TEXT_MUTATORS, base.findingsPath);
      const entry = tally.get(base.name) ?? { error: 0, report: 0, 'n/a': 0, excluded: 0 };
      tally.set(base.name, entry);
      if (base.exclude?.includes(mutation.kind)) {
        entry.excluded++;
        continue;
      }
      const result = await runParser(base, mutation.bytes.toString('utf8'));
      entry[result.outcome]++;
      if (result.problem === undefined) continue;
      problems.push({ caseId: `#${index} ${base.name} ${mutation.kind}`, what: result.problem });
      if (DUMP) {
        mkdirSync(DUMP, { recursive: true });
        writeFileSync(path.join(DUMP, `${SEED}-${index}-${base.name}-${mutation.kind}`), mutation.bytes);
      }
    }
    const perParser = [...tally].map(([name, t]) => `${name} ${t.error + t.report + t['n/a'] + t.excluded} (${t.error} error/${t.report} report/${t['n/a']} n/a/${t.excluded} excluded)`).join('; ');
    process.stdout.write(`sca fuzz seed ${SEED}: ${CASES} cases, ${problems.length} problem(s); ${perParser}\n`);
    if (problems.length > 0) {
      process.stdout.write(`sca fuzz problems (rerun with SECGATE_FUZZ_SEED=${SEED}):\n${problems.slice(0, 40).map((p) => `  ${p.caseId}: ${p.what}`).join('\n')}\n`);
    }
    expect(CASES).toBeGreaterThanOrEqual(600);
    expect({ seed: SEED, problems: problems.slice(0, 20) }).toEqual({ seed: SEED, problems: [] });
  }, 300_000);
});
