import {
  ANNOTATIONS_PER_LEVEL_PER_STEP,
  FINGERPRINT_KEY,
  SARIF_MAX_RESULTS_PER_RUN,
  SUMMARY_LIMIT_BYTES,
  annotationLevel,
  buildJsonReport,
  buildSarif,
  buildSummary,
  escapeCode,
  escapeMarkdown,
  neutraliseCommands,
  planAnnotations,
  toAnnotation,
  type EvaluatedFinding,
  type FindingState,
  type ScanResult,
  type Severity,
  type ToolRun
} from '@secgate/core';
import { sarifSchemaErrors } from '../../../test/helpers/sarif-schema.js';

let counter = 0;
function ef(overrides: Partial<EvaluatedFinding> = {}): EvaluatedFinding {
  counter++;
  const tool = overrides.tool ?? 'bandit';
  const ruleId = overrides.ruleId ?? 'B602';
  return {
    tool,
    ruleId,
    title: 'subprocess call with shell=True',
    message: 'Avoid shell=True',
    severity: 'high',
    location: { path: 'src/app.py', startLine: counter, startColumn: 5, endColumn: 20 },
    cwe: ['CWE-78'],
    fingerprint: counter.toString(16).padStart(32, '0'),
    sources: [{ tool, ruleId }],
    state: { kind: 'active' },
    isNew: true,
    reported: true,
    ...overrides
  };
}

function toolRun(tool: string, overrides: Partial<ToolRun> = {}): ToolRun {
  return {
    stage: 'sast',
    tool,
    displayName: tool[0]!.toUpperCase() + tool.slice(1),
    version: '1.8.0',
    status: 'ok',
    findingCount: 0,
    warnings: [],
    installMs: 1200,
    runMs: 3400,
    ...overrides
  };
}

function scanResult(findings: EvaluatedFinding[], overrides: Partial<ScanResult> = {}): ScanResult {
  return {
    stages: ['sast'],
    workspace: '/tmp/ws',
    tools: [toolRun('bandit'), toolRun('semgrep')],
    findings,
    blocking: findings.filter((f) => f.state.kind === 'active' && (f.severity === 'high' || f.severity === 'critical')),
    ledger: { expired: [], expiringSoon: [], unused: [] },
    policy: { failOn: 'high', reportSeverity: 'low', newOnly: 'off', exceptions: [] },
    verdict: 'fail',
    errors: [],
    durationMs: 5000,
    ...overrides
  };
}

const SUPPRESSED: FindingState = { kind: 'suppressed', reason: 'accepted', owner: 'alice', expires: '2026-12-31', entry: 0 };

describe('annotations', () => {
  it('maps severities to levels', () => {
    expect((['critical', 'high', 'medium', 'low', 'info'] as Severity[]).map(annotationLevel)).toEqual([
      'error',
      'error',
      'warning',
      'notice',
      'notice'
    ]);
  });

  it('caps annotations at 10 per level and counts the rest as omitted', () => {
    const findings = [
      ...Array.from({ length: 15 }, () => ef({ severity: 'high' })),
      ...Array.from({ length: 12 }, () => ef({ severity: 'medium' })),
      ...Array.from({ length: 3 }, () => ef({ severity: 'low' }))
    ];
    const plan = planAnnotations(findings, 50);
    const byLevel = (level: string) => plan.annotations.filter((a) => a.level === level).length;
    expect(ANNOTATIONS_PER_LEVEL_PER_STEP).toBe(10);
    expect([byLevel('error'), byLevel('warning'), byLevel('notice')]).toEqual([10, 10, 3]);
    expect(plan.omitted).toBe(5 + 2);
  });

  it('respects what is left of the job budget', () => {
    const findings = Array.from({ length: 8 }, (_, i) => ef({ severity: (['high', 'medium', 'low'] as const)[i % 3] }));
    const plan = planAnnotations(findings, 4);
    expect(plan.annotations).toHaveLength(4);
    expect(plan.omitted).toBe(4);
    expect(planAnnotations(findings, 0)).toEqual({ annotations: [], omitted: 8 });
  });

  it('skips suppressed, baseline, outside-diff and unreported findings without counting them as omitted', () => {
    const findings = [
      ef({ state: SUPPRESSED }),
      ef({ state: { kind: 'baseline' } }),
      ef({ state: { kind: 'outside-changed-lines' } }),
      ef({ reported: false, severity: 'info' }),
      ef({ title: 'the one' })
    ];
    const plan = planAnnotations(findings, 50);
    expect(plan.annotations.map((a) => a.title)).toEqual(['[HIGH] the one (bandit B602)']);
    expect(plan.omitted).toBe(0);
  });

  it('preserves the (ranked) input order', () => {
    const findings = ['c', 'a', 'b', 'd'].map((title, i) => ef({ title, severity: i % 2 ? 'medium' : 'critical' }));
    expect(planAnnotations(findings, 50).annotations.map((a) => a.title.replace(/^\[\w+\] (\w).*$/, '$1'))).toEqual(['c', 'a', 'b', 'd']);
  });

  it('builds an annotation with location, sources, CWE and help; columns only on single-line findings', () => {
    const single = toAnnotation(
      ef({
        location: { path: 'src/app.py', startLine: 7, startColumn: 3, endColumn: 9 },
        helpUri: 'https://example.com/B602',
        sources: [
          { tool: 'bandit', ruleId: 'B602' },
          { tool: 'semgrep', ruleId: 'subprocess-shell-true' }
        ]
      })
    );
    expect(single).toEqual({
      level: 'error',
      title: '[HIGH] subprocess call with shell=True (bandit B602, semgrep subprocess-shell-true)',
      message: 'Avoid shell=True\nCWE-78 · https://example.com/B602',
      file: 'src/app.py',
      startLine: 7,
      endLine: 7,
      startColumn: 3,
      endColumn: 9
    });

    const multi = toAnnotation(ef({ location: { path: 'src/app.py', startLine: 7, endLine: 9, startColumn: 3, endColumn: 9 } }));
    expect(multi).toMatchObject({ startLine: 7, endLine: 9 });
    expect(multi.startColumn).toBeUndefined();
    expect(multi.endColumn).toBeUndefined();

    const inBaseline = toAnnotation(ef({ isNew: false, cwe: undefined, location: { path: 'requirements.txt' } }));
    expect(inBaseline.message).toBe('Avoid shell=True (in baseline)');
    expect(inBaseline.startLine).toBeUndefined();
    expect(inBaseline.file).toBe('requirements.txt');
  });

  it('truncates very long titles and messages', () => {
    const a = toAnnotation(ef({ title: 'T'.repeat(1000), message: 'M'.repeat(10_000) }));
    expect(a.title.length).toBe(250);
    expect(a.message.length).toBe(4000);
  });
});

describe('buildSummary', () => {
  it('shows verdict, counts per state and tool table', () => {
    const findings = [ef({ severity: 'critical' }), ef({ severity: 'high', state: SUPPRESSED }), ef({ severity: 'medium', state: { kind: 'baseline' }, isNew: false })];
    const md = buildSummary(scanResult(findings));
    expect(md).toContain('## secgate sast: ❌ failed: findings over threshold');
    expect(md).toContain('| critical | 1 | 0 | 0 | 0 |');
    expect(md).toContain('| high | 0 | 1 | 0 | 0 |');
    expect(md).toContain('| medium | 0 | 0 | 1 | 0 |');
    expect(md).toContain('| Bandit | sast | 1.8.0 | ✅ ok |');
    expect(md).toContain('### Findings (3 at low or above)');
    expect(md).not.toContain('more finding(s) not listed');
  });

  it('escapes hostile paths and titles', () => {
    const hostile = ef({
      location: { path: 'x::error::pwned', startLine: 1 },
      title: '<script>alert(1)</script>|pipe',
      ruleId: 'B602|x'
    });
    const md = buildSummary(scanResult([hostile]));
    expect(md).not.toContain('<script>');
    const row = md.split('\n').find((l) => l.includes('pwned'))!;
    expect(row).toBeDefined();
    expect(row).toContain('&lt;script&gt;');
    // Every "|" in the row is either a column separator or escaped; the row has exactly 5 cells.
    const separators = row.match(/(?<!\\)\|/g) ?? [];
    expect(separators).toHaveLength(6);
    expect(row).toContain('<code>x::error::pwned:1</code>');

    const linked = buildSummary(scanResult([hostile]), { blobBaseUrl: 'https://github.com/o/r/blob/abc/' });
    expect(linked).not.toContain('<script>');
    expect(linked).toContain('https://github.com/o/r/blob/abc/x%3A%3Aerror%3A%3Apwned#L1');
  });

  it('escapes hostile tool errors and ledger text', () => {
    const result = scanResult([], {
      verdict: 'error',
      errors: [new Error('boom <img src=x onerror=alert(1)>\n## heading') as never],
      ledger: {
        expired: [{ index: 0, entry: { rule: '<b>r</b>', reason: '[click](javascript:alert(1))', owner: '@x', expires: '2026-01-01' }, matched: 2, daysLeft: -5 }],
        expiringSoon: [],
        unused: []
      }
    });
    const md = buildSummary(result);
    expect(md).toContain('⛔ error: a tool failed');
    expect(md).not.toMatch(/<img|<b>|\]\(javascript/);
    expect(md).not.toMatch(/^## heading/m);
    expect(md).toContain('matches 2 finding(s)');
  });

  it('stays under the size limit with 200,000 findings and says how many were left out', () => {
    const findings = Array.from({ length: 200_000 }, (_, i) =>
      ef({
        severity: (['critical', 'high', 'medium', 'low'] as const)[i % 4],
        title: `Finding number ${i} ${'x'.repeat(150)}`,
        location: { path: `src/module_${i % 1000}/${'deep/'.repeat(20)}file_${i}.py`, startLine: i + 1 }
      })
    );
    const md = buildSummary(scanResult(findings), { annotationsOmitted: 199_950, sarifFile: 'secgate.sarif', reportFile: 'secgate.json' });
    expect(Buffer.byteLength(md)).toBeLessThan(SUMMARY_LIMIT_BYTES);
    const listed = md.split('\n').filter((l) => /^\| (critical|high|medium|low|info) \| (new|existing|suppressed|baseline|outside diff) \|/.test(l));
    expect(listed.length).toBeGreaterThan(0);
    expect(md).toContain(`… and ${200_000 - listed.length} more finding(s) not listed here`);
    expect(md).toContain('199950 finding(s) were not annotated inline');
    expect(md).toContain('SARIF: <code>secgate.sarif</code>');
  });

  it('lists only reported findings', () => {
    const md = buildSummary(scanResult([ef({ title: 'shown' }), ef({ title: 'hidden', reported: false, severity: 'info' })]));
    expect(md).toContain('shown');
    expect(md).not.toContain('hidden');
    expect(md).toContain('### Findings (1 at low or above)');
  });
});

describe('buildSarif', () => {
  function parsed(text: string): { runs: any[] } {
    return JSON.parse(text) as { runs: any[] };
  }

  it('produces schema-valid SARIF with one run per ok tool and unique automation ids', () => {
    const findings = [
      ef({ tool: 'bandit', ruleId: 'B602', severity: 'critical', confidence: 'high', helpUri: 'https://example.com/B602' }),
      ef({ tool: 'bandit', ruleId: 'B602', severity: 'critical' }),
      ef({ tool: 'bandit', ruleId: 'B101', severity: 'low', cwe: ['CWE-703'], location: { path: 'tests/test x.py', startLine: 2, endLine: 4 } }),
      ef({ tool: 'semgrep', ruleId: 'python.lang.x', severity: 'medium', snippet: 'os.system(cmd)' }),
      ef({ tool: 'semgrep', ruleId: 'python.lang.y', severity: 'medium', location: { path: 'requirements.txt' } }),
      ef({ tool: 'semgrep', ruleId: 'python.lang.z', severity: 'medium', location: undefined }),
      ef({ tool: 'gitleaks', ruleId: 'aws', severity: 'high' })
    ];
    const result = scanResult(findings, {
      tools: [toolRun('bandit'), toolRun('semgrep', { version: 'v1.2' }), toolRun('gitleaks', { status: 'failed' }), toolRun('trivy', { stage: 'sca', status: 'skipped' })]
    });
    const build = buildSarif(result);
    expect(sarifSchemaErrors(build.log)).toEqual([]);
    expect(sarifSchemaErrors(JSON.parse(build.text))).toEqual([]);
    expect(build.dropped).toBe(0);
    expect(build.unlocated).toBe(1);

    const log = parsed(build.text);
    expect(log.runs.map((r) => r.tool.driver.name)).toEqual(['Bandit', 'Semgrep']);
    // The base is the workspace as an absolute file URI ending in `/` (SARIF1004); rules have no `name` equal to their id (SARIF1001).
    for (const run of log.runs) expect(run.originalUriBaseIds).toEqual({ '%SRCROOT%': { uri: 'file:///tmp/ws/' } });
    expect(log.runs.flatMap((r) => r.tool.driver.rules).every((rule: any) => rule.name === undefined)).toBe(true);
    const ids = log.runs.map((r) => r.automationDetails.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(['secgate/sast/bandit/', 'secgate/sast/semgrep/']);

    const bandit = log.runs[0];
    expect(bandit.tool.driver.rules.map((r: any) => r.id)).toEqual(['B602', 'B101']);
    expect(bandit.tool.driver.rules[0].properties['security-severity']).toBe('9.5');
    expect(bandit.tool.driver.rules[0].properties.tags).toContain('external/cwe/cwe-78');
    expect(bandit.tool.driver.rules[1].properties['security-severity']).toBe('2.0');
    expect(bandit.results.map((r: any) => r.ruleIndex)).toEqual([0, 0, 1]);
    for (const run of log.runs) {
      for (const r of run.results) expect(r.partialFingerprints[FINGERPRINT_KEY]).toMatch(/^[0-9a-f]{32}$/);
    }
    // multi-line region drops columns it cannot express; spaces are URI-encoded
    const multi = bandit.results[2].locations[0].physicalLocation;
    expect(multi.artifactLocation.uri).toBe('tests/test%20x.py');
    expect(multi.region).toMatchObject({ startLine: 2, endLine: 4 });
    expect(multi.region.endColumn).toBeUndefined();
    expect(log.runs[1].tool.driver.semanticVersion).toBeUndefined();
    // A finding about a whole file points at its first line (GitHub needs a line); one without a file is left out.
    expect(log.runs[1].results[1].locations[0].physicalLocation.region).toEqual({ startLine: 1 });
    expect(log.runs[1].results).toHaveLength(2);
    expect(log.runs.flatMap((r) => r.results).every((r: any) => r.locations?.[0]?.physicalLocation?.region?.startLine >= 1)).toBe(true);
  });

  it('marks suppressed findings with suppressions and baseline state', () => {
    const build = buildSarif(scanResult([ef({ state: SUPPRESSED }), ef({ isNew: false, state: { kind: 'baseline' } }), ef()]));
    expect(sarifSchemaErrors(build.log)).toEqual([]);
    const results = parsed(build.text).runs[0].results;
    expect(results[0].suppressions).toEqual([
      { kind: 'external', status: 'accepted', justification: 'accepted (owner alice, expires 2026-12-31)' }
    ]);
    expect(results[1].suppressions).toBeUndefined();
    expect(results[1].baselineState).toBe('unchanged');
    expect(results[2].baselineState).toBe('new');
    expect(results[2].suppressions).toBeUndefined();
  });

  it('leaves out unreported findings', () => {
    const build = buildSarif(scanResult([ef(), ef({ reported: false, severity: 'info' })]));
    expect(parsed(build.text).runs[0].results).toHaveLength(1);
    expect(build.dropped).toBe(0);
  });

  it('writes the workspace base as a file URI, with its characters encoded and one trailing slash', () => {
    expect(parsed(buildSarif(scanResult([ef()], { workspace: '/home/runner/work/my repo/#x' })).text).runs[0].originalUriBaseIds).toEqual({
      '%SRCROOT%': { uri: 'file:///home/runner/work/my%20repo/%23x/' }
    });
    expect(parsed(buildSarif(scanResult([ef()], { workspace: '/' })).text).runs[0].originalUriBaseIds['%SRCROOT%'].uri).toBe('file:///');
  });

  it('percent-encodes characters that would turn a path into a query or fragment', () => {
    const build = buildSarif(scanResult([ef({ location: { path: 'dir/a#b?.py', startLine: 1 } })]));
    expect(parsed(build.text).runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toBe('dir/a%23b%3F.py');
  });

  it('caps one run at 25,000 results and reports the rest as dropped', () => {
    const findings = Array.from({ length: 30_000 }, (_, i) =>
      ef({ ruleId: `B${600 + (i % 50)}`, location: { path: `src/f${i % 500}.py`, startLine: i + 1 } })
    );
    const build = buildSarif(scanResult(findings));
    const runs = parsed(build.text).runs;
    expect(runs[0].results.length).toBeLessThanOrEqual(SARIF_MAX_RESULTS_PER_RUN);
    expect(runs[0].results.length).toBe(25_000);
    expect(build.dropped).toBe(5_000);
    expect(runs[0].properties['secgate-dropped-results']).toBe(5_000);
    // The highest-ranked (first) findings are the ones kept.
    expect(runs[0].results[0].partialFingerprints[FINGERPRINT_KEY]).toBe(findings[0]!.fingerprint);
  });
});

describe('escape helpers', () => {
  it('escapeMarkdown neutralises HTML, Markdown control characters and newlines', () => {
    expect(escapeMarkdown('<b>a & b</b>')).toBe('&lt;b&gt;a &amp; b&lt;/b&gt;');
    expect(escapeMarkdown('a|b')).toBe('a\\|b');
    expect(escapeMarkdown('[x](javascript:y)')).toBe('\\[x\\]\\(javascript:y\\)');
    expect(escapeMarkdown('*_`#~!+{}\\')).toBe('\\*\\_\\`\\#\\~\\!\\+\\{\\}\\\\');
    expect(escapeMarkdown('line1\r\nline2\n\n# h')).toBe('line1 line2 \\# h');
  });

  it('escapeCode wraps in <code> and escapes what a span or a table cell cannot contain', () => {
    expect(escapeCode('a`b|c<d>&\ne')).toBe('<code>a&#96;b&#124;c&lt;d&gt;&amp; e</code>');
  });

  it('neutraliseCommands breaks workflow commands at line starts', () => {
    const out = neutraliseCommands('ok\n::error::pwned\n  ::add-mask::x\nmid ::warning::fine');
    expect(out.split('\n').some((l) => /^\s*::/.test(l))).toBe(false);
    expect(out).toContain(':\u200b:error::pwned');
    expect(out).toContain('mid ::warning::fine');
    expect(neutraliseCommands('a\r::error::x')).not.toMatch(/\r::/);
  });

  it('neutraliseCommands also breaks legacy ##[command] syntax, which the runner honours anywhere in a line', () => {
    for (const text of ['##[error]pwned', 'tool said: ##[warning]forged', '  ##[stop-commands]tok', '##[add-mask]x']) {
      expect(neutraliseCommands(text)).not.toContain('##[');
    }
  });
});

describe('summary and JSON report: the sca sections', () => {
  const langchain = (): EvaluatedFinding =>
    ef({
      tool: 'pip-audit',
      ruleId: 'PYSEC-2023-18',
      title: 'langchain 0.0.141: PYSEC-2023-18 arbitrary code execution',
      message: 'upgrade langchain to 0.0.142',
      severity: 'critical',
      severityBasis: 'CVSS:3.1 9.8',
      location: { path: 'requirements.txt', startLine: 3 },
      package: { name: 'langchain', version: '0.0.141', ecosystem: 'PyPI', fixedVersions: ['0.0.142'] },
      aliases: ['PYSEC-2023-18', 'CVE-2023-29374', 'GHSA-fprp-p869-w6q2'],
      tags: ['dependency', 'PyPI'],
      sources: [
        { tool: 'pip-audit', ruleId: 'PYSEC-2023-18' },
        { tool: 'osv-scanner', ruleId: 'GHSA-fprp-p869-w6q2' }
      ]
    });
  const result = (): ScanResult =>
    scanResult([langchain()], {
      stages: ['sca'],
      tools: [toolRun('pip-audit', { stage: 'sca' }), toolRun('npm-audit', { stage: 'sca', status: 'not-applicable', skipReason: 'no package-lock.json in scope' })],
      inventory: [
        { kind: 'machine-learning-model', name: 'evil.pkl', path: 'models/evil.pkl', sha256: 'ab'.repeat(32), verdict: 'unsafe', verdicts: { modelscan: 'unsafe', picklescan: 'unsafe' }, tools: ['modelscan', 'picklescan'] },
        { kind: 'library', name: 'langchain', version: '0.0.141', ecosystem: 'PyPI', purl: 'pkg:pypi/langchain@0.0.141', tools: ['pip-audit'] }
      ],
      unchecked: [
        { kind: 'dependency', name: 'torch', version: '2.1.0', ecosystem: 'PyPI', reason: 'Dependency not found on PyPI', tool: 'pip-audit' },
        { kind: 'dependency', name: 'internal-lib', version: '1.0', ecosystem: 'PyPI', reason: 'not on the service', tool: 'pip-audit', allowedBy: { entry: 2, reason: 'private', owner: 'ml', expires: '2026-06-30' } }
      ]
    });

  it('vulnerable dependencies (installed → fixed, severity basis, advisory links, manifest line), model files, not checked, not applicable', () => {
    const md = buildSummary(result(), { blobBaseUrl: 'https://github.com/o/r/blob/abc/' });
    expect(md).toContain('### Vulnerable dependencies (1)');
    expect(md).toContain(
      '| langchain \\(PyPI\\) | 0.0.141 → 0.0.142 | critical (CVSS:3.1 9.8) | [PYSEC-2023-18](https://osv.dev/vulnerability/PYSEC-2023-18) [CVE-2023-29374](https://osv.dev/vulnerability/CVE-2023-29374) [GHSA-fprp-p869-w6q2](https://osv.dev/vulnerability/GHSA-fprp-p869-w6q2) | new | [requirements.txt:3](https://github.com/o/r/blob/abc/requirements.txt#L3) | pip-audit, osv-scanner |'
    );
    expect(md).toContain('### Model files (1)');
    expect(md).toContain('| <code>models/evil.pkl</code> | ⛔ unsafe | modelscan: unsafe, picklescan: unsafe | <code>abababababab</code> |');
    expect(md).toContain('### ⚠️ Not checked (2: 1 not allowed, 1 allowed by the policy ledger)');
    expect(md).toContain('| pip-audit | torch 2.1.0 \\(PyPI\\) | Dependency not found on PyPI | ⛔ no |');
    expect(md).toContain('| pip-audit | internal-lib 1.0 \\(PyPI\\) | not on the service | yes: ledger entry 2, owner ml, until 2026-06-30 |');
    expect(md).toContain('➖ not applicable: no package-lock.json in scope');
    expect(md).toContain('### Not applicable');
  });

  it('the JSON report carries inventory and unchecked items', () => {
    const json = JSON.parse(buildJsonReport(result())) as { inventory: unknown[]; unchecked: { name: string; allowedBy?: unknown }[]; tools: { status: string }[] };
    expect(json.inventory).toHaveLength(2);
    expect(json.unchecked.map((u) => [u.name, Boolean(u.allowedBy)])).toEqual([
      ['torch', false],
      ['internal-lib', true]
    ]);
    expect(json.tools.map((t) => t.status)).toEqual(['ok', 'not-applicable']);
  });
});
