import { mkdtemp, readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ANNOTATIONS_PER_JOB, LOG_LINE_LIMIT, planAnnotations, type EvaluatedFinding } from '@secgate/core';
import { commitAll, initRepo, writeFiles } from '../helpers/git-repo.js';
import { mirrorAvailable, mirrorRoot, startReleaseMirror, type ReleaseMirror } from '../helpers/release-mirror.js';
import { newJob, requireTool, runStep, type StepResult } from '../helpers/runner.js';

// End to end: the sast bundle on Node 24 with the four real tools, on a workspace written to
// attack the action: a secret inside a multi-line call, passwords in URLs (one only in history),
// file names and a rule message that try to forge workflow commands, and a path as long as the
// filesystem allows. Nothing may leak, nothing may be forged, no log line may pass the cap.

const STEP_TIMEOUT = 600_000;
/** In a URL on line 5 of app.py, inside the `requests.get(` call that spans lines 3–8. */
const URL_SECRET = 'R7kq2Vx9Lm4pZt8wQ3nB';
/** Added in the pushed commit and deleted again in the next: only the history scan sees it. */
const HISTORY_SECRET = 'Hq8Zt3Wm5Kp9Rv2Lx7Nc';

const APP = [
  'import requests',
  '',
  'resp = requests.get(',
  '    "https://api.internal.example.net/v1/items",',
  `    proxies={"https": "http://svc-deploy:${URL_SECRET}@proxy.internal.example.net:3128"},`,
  '    timeout=10,',
  '    verify=False,',
  ')',
  'print(resp)',
  ''
].join('\n');

/** File names from the issue: a NEL or U+2028 after a line break, stop-commands, the legacy form. */
const HOSTILE_NAMES = [
  'evil\n\u0085::error file=app.py,line=1::forged by a file name.py',
  'w\u2028::warning::forged by U+2028.py',
  '::stop-commands::tok.py',
  '##[error]legacy form.py'
];

const HOSTILE_MESSAGE =
  'Hostile rule message.\n\u0085::error::forged by a message\u2028::warning::forged\n::stop-commands::tok2\n##[error]legacy ' + '%'.repeat(200_000);
const RULE = [
  'rules:',
  '  - id: hostile-eval',
  '    languages: [python]',
  '    severity: ERROR',
  `    message: ${JSON.stringify(HOSTILE_MESSAGE)}`,
  '    pattern: eval(...)',
  ''
].join('\n');

/**
 * 15 directories of 255 characters (the longest name ext4 allows): a 3,840-character path, of
 * commas, which a command property escapes to three characters each.
 */
const DEEP_DIR = Array.from({ length: 15 }, (_, i) => ','.repeat(254) + String.fromCharCode(97 + i)).join('/');

/** Lines as the runner might read them at worst: every Unicode line terminator ends a line, then .NET TrimStart(). */
const DOTNET_WHITESPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*/;
function worstCaseCommandLines(stdout: string): string[] {
  return stdout
    .split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/)
    .map((line) => line.replace(DOTNET_WHITESPACE, ''))
    .filter((line) => line.startsWith('::'));
}

interface JsonReport {
  verdict: string;
  tools: { tool: string; status: string }[];
  findings: (EvaluatedFinding & { tags?: string[] })[];
}

describe('hostile input end to end (sast bundle, real tools)', () => {
  let available = false;
  let mirror: ReleaseMirror | undefined;
  let step: StepResult;
  let report: JsonReport;
  let sarifText: string;
  let reportText: string;
  let outputFileText: string;

  beforeAll(async () => {
    available = requireTool(mirrorAvailable(), 'the loopback release mirror (gitleaks, git-secrets)');
    if (!available) return;
    const sums = JSON.parse(await readFile(path.join(mirrorRoot(), 'SHA256SUMS.json'), 'utf8')) as Record<string, string>;
    mirror = await startReleaseMirror(mirrorRoot());
    const job = await newJob({ sharedToolCache: true });
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-hostile-'));
    await initRepo(workspace);
    await writeFiles(workspace, { 'README.md': '# hostile\n' });
    const before = await commitAll(workspace, 'base');
    const files: Record<string, string> = {
      'app.py': APP,
      'ci/hostile.yml': RULE,
      'old_settings.py': `BROKER = "amqp://worker:${HISTORY_SECRET}@mq.internal.example.net:5672/"\n`,
      [`${DEEP_DIR}/deep.py`]: 'eval(input())\n'
    };
    for (const name of HOSTILE_NAMES) files[`src/${name}`] = 'eval(input())\n';
    await writeFiles(workspace, files);
    const after = await commitAll(workspace, 'the change');
    await writeFiles(workspace, { 'old_settings.py': null });
    const head = await commitAll(workspace, 'remove the broker URL');
    step = await runStep({
      bundle: 'sast',
      workspace,
      job,
      env: { GITHUB_SHA: head, GITHUB_JOB: 'hostile' },
      event: { name: 'push', payload: { before, after: head, commits: [{ id: after }, { id: head }] } },
      inputs: {
        'tool-versions': `gitleaks=8.30.0@${sums['gitleaks/8.30.0/linux-x64']},git-secrets=1.3.0@${sums['git-secrets/1.3.0/any']}`,
        'mirror-url': mirror.url,
        'semgrep-rules': 'ci/hostile.yml',
        'fail-on': 'high',
        'report-severity': 'info'
      },
      timeoutMs: STEP_TIMEOUT
    });
    sarifText = await readFile(step.outputs['sarif-file']!, 'utf8');
    reportText = await readFile(step.outputs['report-file']!, 'utf8');
    report = JSON.parse(reportText) as JsonReport;
    outputFileText = JSON.stringify(step.outputs);
  }, STEP_TIMEOUT + 60_000);

  afterAll(async () => {
    await mirror?.close();
  });

  it('runs every tool and fails the gate on the findings', () => {
    if (!available) return;
    expect(report.tools.map((t) => `${t.tool}:${t.status}`).sort()).toEqual(['bandit:ok', 'git-secrets:ok', 'gitleaks:ok', 'semgrep:ok']);
    expect(step.outputs['verdict']).toBe('fail');
    expect(step.exitCode).toBe(1);
  });

  it('finds passwords in URLs with the secgate gitleaks rule, in the tree and in history', () => {
    if (!available) return;
    const url = report.findings.filter((f) => f.sources.some((s) => s.tool === 'gitleaks' && s.ruleId === 'secgate-url-credentials'));
    expect(url.map((f) => `${f.location?.path}:${f.location?.startLine}`).sort()).toEqual(['app.py:5', 'old_settings.py:1']);
    expect(url.find((f) => f.location?.path === 'old_settings.py')!.tags).toContain('history');
    for (const f of url) expect(f.severity).toBe('high');
  });

  it('hides every finding over the secret line (the multi-line requests.get call) and leaks neither secret anywhere', () => {
    if (!available) return;
    const overCall = report.findings.filter(
      (f) => f.location?.path === 'app.py' && !f.sources.some((s) => s.tool === 'gitleaks') && (f.location.startLine ?? 0) <= 5 && (f.location.endLine ?? f.location.startLine ?? 0) >= 5
    );
    // bandit and semgrep both report the call that spans the secret line.
    expect(overCall.length).toBeGreaterThan(0);
    for (const f of overCall) expect(f.snippet).toBeUndefined();
    const places: Record<string, string> = { stdout: step.stdout, stderr: step.stderr, summary: step.summary, sarif: sarifText, report: reportText, outputs: outputFileText };
    const leaks: string[] = [];
    for (const [place, text] of Object.entries(places)) {
      for (const secret of [URL_SECRET, HISTORY_SECRET]) if (text.includes(secret) || text.includes(secret.slice(0, 10))) leaks.push(`${place}: ${secret.slice(0, 4)}…`);
    }
    expect(leaks).toEqual([]);
  });

  it('forges no workflow command: the exact annotations, nothing else, no ##[ anywhere', () => {
    if (!available) return;
    // (Booleans: a failure message must not print 1 MB of log.)
    expect(step.stdout.includes('##[')).toBe(false);
    // Splitting on every Unicode line break and trimming every .NET space finds no extra command.
    const worst = worstCaseCommandLines(step.stdout);
    const strict = step.stdout.split(/\r?\n/).filter((line) => line.startsWith('::'));
    expect(worst).toEqual(strict);
    const names = new Set(step.commands.map((c) => c.command));
    for (const name of names) expect(['error', 'warning', 'notice', 'group', 'endgroup', 'debug']).toContain(name);

    // Exactly the planned annotations, in order, plus the step's own failure message.
    const plan = planAnnotations(report.findings, ANNOTATIONS_PER_JOB - 1);
    const errors = plan.annotations.filter((a) => a.level === 'error');
    if (errors.length === 10) plan.annotations.splice(plan.annotations.lastIndexOf(errors[9]!), 1);
    const expected: { command: string; file?: string; line?: string; title?: string }[] = plan.annotations.map((a) => ({
      command: a.level,
      file: a.file,
      line: a.startLine?.toString(),
      title: a.title
    }));
    expected.push({ command: 'error', file: undefined, line: undefined, title: undefined });
    expect(step.annotations.map((c) => ({ command: c.command, file: c.properties['file'], line: c.properties['line'], title: c.properties['title'] }))).toEqual(expected);
    expect(step.outputs['annotations-omitted']).toBe(String(plan.omitted + (errors.length === 10 ? 1 : 0)));

    // The hostile names and the long path are findings, annotated job-level when their path cannot be a property.
    for (const name of HOSTILE_NAMES) expect(report.findings.some((f) => f.location?.path === `src/${name}`)).toBe(true);
    expect(report.findings.some((f) => f.location?.path === `${DEEP_DIR}/deep.py`)).toBe(true);
    for (const annotation of step.annotations) {
      const file = annotation.properties['file'];
      if (file !== undefined) expect(file).toMatch(/^[^\n\r\u0085\u2028\u2029]{1,1000}$/);
      expect(file?.includes('##[')).not.toBe(true);
    }
  });

  it('writes no log line longer than the cap, with a 3,840-character path of commas and a 200 KB rule message of % signs', () => {
    if (!available) return;
    const longest = Math.max(...step.stdout.split('\n').map((line) => line.length));
    expect(longest).toBeLessThanOrEqual(LOG_LINE_LIMIT);
    // The message did reach the reports in full; only the log was capped.
    expect(reportText.includes('%'.repeat(100_000))).toBe(true);
  });

  it('keeps escape sequences and raw controls out of the summary', () => {
    if (!available) return;
    expect(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(step.summary)).toBe(false);
    expect(step.summary).toContain('## secgate sast: ❌ failed');
  });
});

describe('passwords in URLs: the secgate gitleaks rule on top of the repository config (sast bundle, real gitleaks)', () => {
  /** [line, reported?]. The placeholders follow gitleaks' own curl-auth-user allowlist, plus template syntax. */
  const CASES: [string, boolean][] = [
    ['DB = "postgresql://app:Zt4Qm9Wx2Lp7Rk5V@db.internal.example.net:5432/app"', true],
    ["MQ = 'amqp://guest:Gu3st-Pa55-w0rd@rabbit/'", true],
    ['DOC = "https://admin:Sup3rS3cr3t-2024@example.com/"', true],
    ['P1 = "https://user:password@host/"', false],
    ['P2 = f"postgresql://{user}:{password}@{host}/db"', false],
    ['P3 = "mongodb://%s:%s@%s" % (u, p, h)', false],
    ['P4 = "redis://:${REDIS_PASSWORD}@redis:6379"', false],
    ['P5 = "https://<user>:<token>@github.com/org/repo.git"', false],
    ['P6 = "https://user:$TOKEN@host"', false],
    ['P7 = "http://user@host/"', false],
    ['P8 = "git@github.com:org/repo.git"', false],
    ['P9 = "https://user:changeme@host"', false],
    ['P10 = "mysql://root:%(pw)s@localhost"', false],
    ['P11 = "ftp://anon:xxxx@ftp.example.com"', false]
  ];
  const PASSWORDS = ['Zt4Qm9Wx2Lp7Rk5V', 'Gu3st-Pa55-w0rd', 'Sup3rS3cr3t-2024'];
  /** The repository's own config: a rule of its own and a path allowlist, extending the defaults. */
  const REPO_CONFIG = [
    '[extend]',
    'useDefault = true',
    '',
    '[[allowlists]]',
    "paths = ['''^allowed/''']",
    '',
    '[[rules]]',
    "id = 'acme-token'",
    "regex = '''ACME_TOKEN_[0-9]{9}'''",
    ''
  ].join('\n');
  let available = false;
  let mirror: ReleaseMirror | undefined;

  beforeAll(async () => {
    available = requireTool(mirrorAvailable(), 'the loopback release mirror (gitleaks)');
    if (available) mirror = await startReleaseMirror(mirrorRoot());
  });
  afterAll(async () => {
    await mirror?.close();
  });

  it(
    'reports real passwords in URLs, not placeholders, and keeps the repository rules and allowlists',
    async () => {
      if (!available) return;
      const sums = JSON.parse(await readFile(path.join(mirrorRoot(), 'SHA256SUMS.json'), 'utf8')) as Record<string, string>;
      const workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-url-'));
      const source = CASES.map(([line]) => line).join('\n') + '\n';
      await writeFiles(workspace, {
        'urls.py': source,
        'allowed/urls.py': source,
        'token.py': 'X = "ACME_TOKEN_123456789"\n',
        '.gitleaks.toml': REPO_CONFIG
      });
      const step = await runStep({
        bundle: 'sast',
        workspace,
        job: await newJob({ sharedToolCache: true }),
        env: { GITHUB_JOB: 'url-rule' },
        inputs: {
          tools: 'gitleaks',
          'secrets-scan': 'tree',
          'tool-versions': `gitleaks=8.30.0@${sums['gitleaks/8.30.0/linux-x64']}`,
          'mirror-url': mirror!.url
        },
        timeoutMs: STEP_TIMEOUT
      });
      const report = JSON.parse(await readFile(step.outputs['report-file']!, 'utf8')) as JsonReport;
      const found = report.findings.map((f) => `${f.location?.path}:${f.location?.startLine}:${f.ruleId}`).sort();
      const expected = CASES.flatMap(([, reported], index) => (reported ? [`urls.py:${index + 1}:secgate-url-credentials`] : []));
      expect(found).toEqual([...expected, 'token.py:1:acme-token'].sort());
      expect(step.outputs['verdict']).toBe('fail');
      const sarif = await readFile(step.outputs['sarif-file']!, 'utf8');
      for (const text of [step.stdout, step.stderr, step.summary, sarif, JSON.stringify(report)]) {
        for (const password of PASSWORDS) expect(text.includes(password)).toBe(false);
      }
    },
    STEP_TIMEOUT
  );
});
