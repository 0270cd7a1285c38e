import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  QUOTE_WINDOW,
  SourceCache,
  WITHHELD_TEXT,
  blockingFindings,
  buildJsonReport,
  buildSarif,
  buildSummary,
  evaluate,
  hideSecretLines,
  identify,
  mergeDuplicates,
  toAnnotation,
  type EffectivePolicy,
  type Finding,
  type RawFinding,
  type RuleEquivalence,
  type ScanResult
} from '@secgate/core';

const SECRET = 'R7kq2Vx9Lm4pZt8wQ3nB';
const POLICY: EffectivePolicy = { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] };

/** A multi-line call whose argument list covers the line holding a password (line 5). */
const SOURCE = [
  'import requests', // 1
  '', // 2
  'resp = requests.get(', // 3
  '    "https://api.internal/v1/items",', // 4
  `    auth=("deploy", "${SECRET}"),`, // 5
  '    verify=False,', // 6
  ')', // 7
  'print(resp)', // 8
  ''
].join('\n');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-redact-'));
  await writeFile(path.join(dir, 'app.py'), SOURCE);
  await writeFile(path.join(dir, 'other.py'), SOURCE);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function raw(tool: string, ruleId: string, startLine: number, endLine = startLine, extra: Partial<RawFinding> = {}): RawFinding {
  return {
    tool,
    ruleId,
    title: `${ruleId} title`,
    message: `${ruleId} message`,
    severity: 'high',
    location: { path: 'app.py', startLine, endLine },
    ...extra
  };
}

const secret = (startLine: number, endLine = startLine, extra: Partial<RawFinding> = {}): RawFinding =>
  raw('gitleaks', 'generic-api-key', startLine, endLine, { sensitive: true, identity: `id-${startLine}`, ...extra });

/** The engine's order: identify, hide, then merge (a merged finding keeps only its lead's range). */
async function pipeline(raws: RawFinding[], equivalences: RuleEquivalence[] = []): Promise<Finding[]> {
  const sources = new SourceCache(dir);
  return mergeDuplicates(hideSecretLines(await identify(raws, sources), sources), equivalences);
}

function byRule(findings: Finding[], ruleId: string, file = 'app.py'): Finding {
  const found = findings.find((f) => f.ruleId === ruleId && f.location?.path === file);
  if (!found) throw new Error(`no ${ruleId} in ${file}`);
  return found;
}

describe('hideSecretLines: every line of every secret range is off limits', () => {
  it('hides a multi-line finding whose range covers a secret line it does not start on', async () => {
    const findings = await pipeline([raw('bandit', 'B113', 3, 7), raw('semgrep', 'requests-verify-false', 6), secret(5)]);
    const call = byRule(findings, 'B113');
    expect(call.snippet).toBeUndefined();
    expect(call.sensitive).toBe(true);
    // Line 6 alone holds no secret: its snippet stays.
    expect(byRule(findings, 'requests-verify-false').snippet).toBe('verify=False,');
    expect(JSON.stringify(findings)).not.toContain(SECRET);
  });

  it('keeps snippets of findings that end before or start after the secret lines', async () => {
    const findings = await pipeline([raw('bandit', 'B404', 1), raw('bandit', 'B113', 3, 4), raw('bandit', 'B101', 8), secret(5)]);
    expect(byRule(findings, 'B404').snippet).toBe('import requests');
    expect(byRule(findings, 'B113').snippet).toBe('resp = requests.get(\n    "https://api.internal/v1/items",');
    expect(byRule(findings, 'B101').snippet).toBe('print(resp)');
  });

  it('uses every line of a multi-line secret (a private key block), not only its start line', async () => {
    const findings = await pipeline([raw('semgrep', 'inside', 6), raw('semgrep', 'after', 8), secret(4, 6)]);
    expect(byRule(findings, 'inside').snippet).toBeUndefined();
    expect(byRule(findings, 'after').snippet).toBe('print(resp)');
  });

  it('hides whatever the secret tool (history findings, git-secrets without an end line)', async () => {
    const history = raw('gitleaks', 'url-credentials', 5, 5, { sensitive: true, identity: 'abc:app.py:url', inChange: true });
    const gitSecrets = raw('git-secrets', 'prohibited-pattern', 5, undefined, { sensitive: true, identity: 'gs', location: { path: 'other.py', startLine: 5 } });
    const findings = await pipeline([history, gitSecrets, raw('bandit', 'B113', 3, 7), { ...raw('bandit', 'B113', 3, 7), location: { path: 'other.py', startLine: 3, endLine: 7 } }]);
    expect(byRule(findings, 'B113').snippet).toBeUndefined();
    expect(byRule(findings, 'B113', 'other.py').snippet).toBeUndefined();
  });

  it('keeps the secret range of a secret merged into a finding that leads with a shorter range', async () => {
    const lead = raw('semgrep', 'custom.secret', 3, 3, { severity: 'critical' });
    const findings = await pipeline([lead, secret(3, 5), raw('bandit', 'B999', 5)], [{ name: 'secret', rules: ['semgrep:custom.secret', 'gitleaks:generic-api-key'] }]);
    expect(findings.filter((f) => f.ruleId === 'custom.secret')[0]!.sources).toHaveLength(2);
    expect(byRule(findings, 'B999').snippet).toBeUndefined();
  });

  it('leaves other files alone', async () => {
    const findings = await pipeline([{ ...raw('bandit', 'B113', 3, 7), location: { path: 'other.py', startLine: 3, endLine: 7 } }, secret(5)]);
    expect(byRule(findings, 'B113', 'other.py').snippet).toContain('requests.get(');
    expect(byRule(findings, 'B113', 'other.py').snippet).toContain(SECRET);
  });

  it('withholds a message or title that quotes the secret, and only those', async () => {
    const quoting = raw('semgrep', 'custom.auth', 3, 7, { message: `credentials ${SECRET.slice(2, 2 + QUOTE_WINDOW + 1)} passed to requests`, title: `auth: "${SECRET}"` });
    const plain = raw('semgrep', 'custom.verify', 3, 7, { message: 'certificate verification is disabled' });
    const findings = await pipeline([quoting, plain, secret(5, 5, { location: { path: 'app.py', startLine: 5, endLine: 5, startColumn: 22, endColumn: 42 } })]);
    expect(byRule(findings, 'custom.auth').message).toBe(WITHHELD_TEXT);
    expect(byRule(findings, 'custom.auth').title).toBe(`custom.auth: ${WITHHELD_TEXT}`);
    expect(byRule(findings, 'custom.verify').message).toBe('certificate verification is disabled');
    expect(byRule(findings, 'custom.verify').snippet).toBeUndefined();
  });

  it('withholds the messages when the file cannot be read to check them (fails closed)', async () => {
    const findings = hideSecretLines(
      [
        { ...raw('semgrep', 'x', 3, 7), fingerprint: 'a', sources: [] },
        { ...secret(5), fingerprint: 'b', sources: [] }
      ],
      new SourceCache(dir)
    );
    expect(findings[0]!.message).toBe(WITHHELD_TEXT);
    expect(findings[0]!.snippet).toBeUndefined();
  });

  it('is near-linear: 30,000 findings and 30,000 secrets on one line', async () => {
    const findings: Finding[] = [];
    for (let i = 0; i < 30_000; i++) {
      findings.push({ ...raw('semgrep', `r${i % 7}`, 5, 5), fingerprint: `f${i}`, sources: [], snippet: 'x' });
      findings.push({ ...secret(5), fingerprint: `s${i}`, sources: [] });
      findings.push({ ...raw('bandit', 'B1', 1000 + i, 1000 + i), fingerprint: `g${i}`, sources: [], snippet: 'y' });
    }
    const sources = new SourceCache(dir);
    await sources.load(['app.py']);
    const started = performance.now();
    const hidden = hideSecretLines(findings, sources);
    const elapsed = performance.now() - started;
    expect(hidden.filter((f) => f.snippet === 'x')).toHaveLength(0);
    expect(hidden.filter((f) => f.snippet === 'y')).toHaveLength(30_000);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('no report built from the findings contains the secret: JSON, SARIF, summary, annotations', async () => {
    const raws = [
      raw('bandit', 'B113', 3, 7),
      raw('semgrep', 'requests-verify-false', 3, 7, { message: `requests.get(..., auth=("deploy", "${SECRET}"))` }),
      secret(5)
    ];
    const merged = await pipeline(raws);
    const { findings, ledger } = evaluate(merged, POLICY, { now: new Date() });
    const result: ScanResult = {
      stages: ['sast'],
      workspace: dir,
      tools: [],
      findings,
      blocking: blockingFindings(findings, { failOn: 'high' }),
      ledger,
      policy: POLICY,
      verdict: 'fail',
      errors: [],
      durationMs: 1
    };
    const outputs = [
      buildJsonReport(result),
      buildSarif(result).text,
      buildSummary(result),
      JSON.stringify(findings.map(toAnnotation))
    ];
    for (const text of outputs) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SECRET.slice(0, QUOTE_WINDOW));
    }
    expect(findings).toHaveLength(3);
  });
});
