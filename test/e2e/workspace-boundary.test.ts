import { mkdtemp, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { commitAll, git, initRepo, writeFiles } from '../helpers/git-repo.js';
import { newJob, runStep, type RunnerJob, type StepResult } from '../helpers/runner.js';

// End to end: the sast bundle on Node 24 with the real bandit (tools: bandit keeps it fast). The
// workspace is the boundary: nothing outside it reaches a report, and a pull request cannot relax
// its own gate without a trace (or at all, with policy-source: base).

const STEP_TIMEOUT = 300_000;

/** A high-severity bandit finding (B602 on a variable command). */
const VULNERABLE = ['import subprocess', '', 'def run(cmd):', '    return subprocess.call(cmd, shell=True)', ''].join('\n');
/** Content only the file outside the workspace holds; it is flagged by bandit too (B605). */
const OUTSIDE_MARKER = 'OUTSIDE_ONLY_9d1e_never_reported';
const OUTSIDE_SOURCE = `import os\nos.system("rm -rf /tmp/${OUTSIDE_MARKER}")  # ${OUTSIDE_MARKER}\n`;

interface JsonReport {
  verdict: string;
  tools: { tool: string; status: string; warnings: string[]; findingCount: number }[];
  findings: { location?: { path: string; startLine?: number }; snippet?: string; severity: string }[];
}

function readJson<T>(file: string | undefined): Promise<T> {
  if (!file) throw new Error('the step wrote no such output');
  return readFile(file, 'utf8').then((text) => JSON.parse(text) as T);
}

/** The step's own failure message: the last error annotation without a file. */
function failureMessage(step: StepResult): string {
  const own = step.annotations.filter((a) => a.command === 'error' && !a.properties['file']);
  return own[own.length - 1]?.message ?? '';
}

async function tempDir(prefix: string): Promise<string> {
  return realpath(await mkdtemp(path.join(os.tmpdir(), prefix)));
}

describe('the workspace is the boundary (sast bundle, real bandit)', () => {
  let job: RunnerJob;
  let outside: string;
  beforeAll(async () => {
    job = await newJob({ sharedToolCache: true });
    outside = await tempDir('secgate-outside-');
    await writeFile(path.join(outside, 'secret.py'), OUTSIDE_SOURCE);
    await writeFile(path.join(outside, 'policy.yml'), `${OUTSIDE_MARKER}: 1\n`);
  });

  it(
    'a symlink to a file outside: its finding is dropped with a warning, its content appears nowhere',
    async () => {
      const workspace = await tempDir('secgate-ws-');
      await writeFiles(workspace, { 'app.py': VULNERABLE });
      await symlink(path.join(outside, 'secret.py'), path.join(workspace, 'linked.py'));
      const step = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit', 'fail-on': 'high' }, timeoutMs: STEP_TIMEOUT });
      expect(step.outputs['verdict']).toBe('fail');
      const report = await readJson<JsonReport>(step.outputs['report-file']);
      expect([...new Set(report.findings.map((f) => f.location?.path))]).toEqual(['app.py']);
      const bandit = report.tools.find((t) => t.tool === 'bandit')!;
      expect(bandit.status).toBe('ok');
      expect(bandit.warnings).toEqual([expect.stringMatching(/^[1-9]\d* finding\(s\) dropped: 1 file\(s\) resolve outside the workspace \(symlink or path to outside\): linked\.py$/)]);
      expect(step.summary).toMatch(/finding\\?\(s\\?\) dropped: 1 file\\?\(s\\?\) resolve outside the workspace/);
      const places: Record<string, string> = {
        stdout: step.stdout,
        stderr: step.stderr,
        summary: step.summary,
        sarif: await readFile(step.outputs['sarif-file']!, 'utf8'),
        report: await readFile(step.outputs['report-file']!, 'utf8')
      };
      for (const [place, text] of Object.entries(places)) expect(`${place}: ${text.includes(OUTSIDE_MARKER)}`).toBe(`${place}: false`);
    },
    STEP_TIMEOUT
  );

  it(
    'paths: a symlink to /etc is refused before any tool runs',
    async () => {
      const workspace = await tempDir('secgate-ws-');
      await writeFiles(workspace, { 'app.py': VULNERABLE });
      await symlink('/etc', path.join(workspace, 'etc-link'));
      const step = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit', paths: 'etc-link' }, timeoutMs: STEP_TIMEOUT });
      expect(step.exitCode).toBe(1);
      expect(failureMessage(step)).toBe(
        "secgate sast: configuration: paths: 'etc-link' is outside the workspace (paths and the symlinks they pass through must stay inside it)"
      );
      expect(step.stdout).not.toMatch(/Bandit .*: running/);
    },
    STEP_TIMEOUT
  );

  it(
    'baseline: /proc/self/environ (input or policy key) and a symlinked policy file are refused without quoting content',
    async () => {
      const workspace = await tempDir('secgate-ws-');
      await writeFiles(workspace, { 'app.py': VULNERABLE });
      // A variable only the step's environment holds: /proc/self/environ would show it.
      const env = { SECGATE_PROBE: `probe-${OUTSIDE_MARKER}` };
      const input = await runStep({ bundle: 'sast', workspace, job, env, inputs: { tools: 'bandit', 'new-only': 'baseline', baseline: '/proc/self/environ' } });
      expect(input.exitCode).toBe(1);
      expect(failureMessage(input)).toBe(
        "secgate sast: configuration: baseline: '/proc/self/environ' is outside the workspace (paths and the symlinks they pass through must stay inside it)"
      );
      expect(input.stdout).not.toContain(OUTSIDE_MARKER);

      await writeFiles(workspace, { '.secgate.yml': 'new-only: baseline\nbaseline: /proc/self/environ\n' });
      const policy = await runStep({ bundle: 'sast', workspace, job, env, inputs: { tools: 'bandit' } });
      expect(failureMessage(policy)).toMatch(/^secgate sast: configuration: baseline: '\/proc\/self\/environ' is outside the workspace/);
      expect(policy.stdout).not.toContain(OUTSIDE_MARKER);

      await writeFiles(workspace, { '.secgate.yml': null });
      await symlink(path.join(outside, 'policy.yml'), path.join(workspace, '.secgate.yml'));
      const linked = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit' } });
      expect(failureMessage(linked)).toMatch(/^secgate sast: configuration: config: '\.secgate\.yml' is outside the workspace/);
      expect(linked.stdout).not.toContain(OUTSIDE_MARKER);
    },
    STEP_TIMEOUT
  );

  it(
    'a huge exclude list does not end in spawn E2BIG: tools get what fits, the engine applies all of it',
    async () => {
      const workspace = await tempDir('secgate-ws-');
      // About 700 KB of patterns: far beyond Linux's 128 KiB per argument.
      const patterns = Array.from({ length: 20_000 }, (_, i) => `  - generated/part_${String(i).padStart(5, '0')}/module/**`);
      await writeFiles(workspace, {
        'app.py': VULNERABLE,
        'generated/part_00042/module/gen.py': VULNERABLE,
        '.secgate.yml': `exclude:\n${patterns.join('\n')}\n`
      });
      const step = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit' }, timeoutMs: STEP_TIMEOUT });
      expect(step.stdout).not.toContain('E2BIG');
      expect(step.outputs['verdict']).toBe('fail');
      expect(step.stdout).toMatch(/Bandit: \d+ of 20000 exclude pattern\(s\) passed to the tool \(command-line limit\); secgate drops findings under every pattern after the scan/);
      const report = await readJson<JsonReport>(step.outputs['report-file']);
      expect([...new Set(report.findings.map((f) => f.location?.path))]).toEqual(['app.py']);
    },
    STEP_TIMEOUT
  );

  it(
    'timeout-minutes beyond the 6-hour job limit, tool-versions for an unknown tool, a bad policy-source and an alias bomb are configuration errors',
    async () => {
      const workspace = await tempDir('secgate-ws-');
      await writeFiles(workspace, { 'app.py': VULNERABLE });
      const timeout = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit', 'timeout-minutes': '1e12' } });
      expect(failureMessage(timeout)).toBe("secgate sast: configuration: timeout-minutes: '1e12' is more than 360 minutes (the 6-hour job limit)");
      const versions = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit', 'tool-versions': 'trivy=0.50.0' } });
      expect(failureMessage(versions)).toBe('secgate sast: configuration: tool-versions: unknown tool(s) trivy; known tools: bandit, semgrep, gitleaks, git-secrets');
      const source = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit', 'policy-source': 'merge' } });
      expect(failureMessage(source)).toBe("secgate sast: configuration: policy-source: 'merge' is not one of head, base");
      const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
      for (const name of ['b', 'c', 'd', 'e', 'f']) bomb.push(`${name}: &${name} [${Array(10).fill(`*${String.fromCharCode(name.charCodeAt(0) - 1)}`).join(', ')}]`);
      await writeFiles(workspace, { '.secgate.yml': `${bomb.join('\n')}\n` });
      const aliasBomb = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit' } });
      expect(failureMessage(aliasBomb)).toBe('secgate sast: configuration: config: .secgate.yml: invalid YAML (too many alias expansions (an alias bomb?))');
    },
    STEP_TIMEOUT
  );

  describe('a pull request whose policy file relaxes the gate', () => {
    const BASE_POLICY = 'version: 1\nfail-on: high\n';
    const HEAD_POLICY = "version: 1\nfail-on: none\nexclude:\n  - '**'\n";
    let workspace: string;
    let base: string;
    let head: string;
    let event: { name: string; payload: unknown };

    beforeAll(async () => {
      // The origin holds base and head; the workspace is a depth-1 clone of head, as actions/checkout
      // makes it, so the base commit has to be fetched to read its policy.
      const origin = await tempDir('secgate-origin-');
      await initRepo(origin);
      await writeFiles(origin, { 'app.py': VULNERABLE, '.secgate.yml': BASE_POLICY });
      base = await commitAll(origin, 'base');
      await writeFiles(origin, { '.secgate.yml': HEAD_POLICY, 'README.md': 'a change\n' });
      head = await commitAll(origin, 'relax the gate');
      const parent = await tempDir('secgate-pr-');
      await git(parent, ['clone', '-q', '--depth', '1', `file://${origin}`, 'ws']);
      workspace = path.join(parent, 'ws');
      await expect(git(workspace, ['cat-file', '-e', `${base}^{commit}`])).rejects.toThrow();
      event = { name: 'pull_request', payload: { pull_request: { number: 7, base: { sha: base }, head: { sha: head } } } };
    });

    it(
      'policy-source: head (default) applies the change\'s policy, lists each relaxation in the summary and annotates its line',
      async () => {
        const step = await runStep({ bundle: 'sast', workspace, job, event, env: { GITHUB_SHA: head }, inputs: { tools: 'bandit' }, timeoutMs: STEP_TIMEOUT });
        expect(step.exitCode).toBe(0);
        expect(step.outputs['verdict']).toBe('pass');
        expect(step.summary).toContain('### ⚠️ This change relaxes the gate');
        expect(step.summary).toContain(`Compared with base commit ${base.slice(0, 7)}, this change relaxes the gate`);
        expect(step.summary).toContain('fail-on lowered from high to none: no finding fails the gate');
        expect(step.summary).toMatch(/new exclude pattern '\\\*\\\*': findings under it are dropped/);
        const relaxations = step.annotations.filter((a) => a.command === 'warning' && a.properties['title'] === 'secgate: this change relaxes the gate');
        expect(relaxations.map((a) => [a.properties['file'], a.properties['line'], a.message])).toEqual([
          ['.secgate.yml', '2', `fail-on lowered from high to none: no finding fails the gate (compared with base commit ${base.slice(0, 7)})`],
          ['.secgate.yml', '4', `new exclude pattern '**': findings under it are dropped (compared with base commit ${base.slice(0, 7)})`]
        ]);
      },
      STEP_TIMEOUT
    );

    it(
      'policy-source: base applies the base commit\'s policy, so the gate fails on the finding',
      async () => {
        const step = await runStep({
          bundle: 'sast',
          workspace,
          job,
          event,
          env: { GITHUB_SHA: head },
          inputs: { tools: 'bandit', 'policy-source': 'base' },
          timeoutMs: STEP_TIMEOUT
        });
        expect(step.exitCode).toBe(1);
        expect(step.outputs['verdict']).toBe('fail');
        expect(failureMessage(step)).toMatch(/^secgate sast: 1 finding\(s\) at or above severity 'high'$/);
        expect(step.stdout).toContain(`Policy: .secgate.yml from base commit ${base.slice(0, 7)}`);
        const report = await readJson<JsonReport>(step.outputs['report-file']);
        expect(report.findings.some((f) => f.location?.path === 'app.py' && f.severity === 'high')).toBe(true);
        expect(step.summary).toContain("`policy-source: base` applied the base commit's policy, so these changes had no effect");
        const annotated = step.annotations.filter((a) => a.properties['title']?.startsWith('secgate: this change would relax the gate'));
        expect(annotated.map((a) => a.properties['line'])).toEqual(['2', '4']);
      },
      STEP_TIMEOUT
    );

    it(
      'policy-source: base on a push falls back to the working tree with an info line',
      async () => {
        const step = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit', 'policy-source': 'base' }, timeoutMs: STEP_TIMEOUT });
        expect(step.exitCode).toBe(0);
        expect(step.stdout).toContain("policy-source: base applies to pull_request, pull_request_target and merge_group events; on push the working tree's policy applies");
        expect(step.summary).not.toContain('relaxes the gate');
      },
      STEP_TIMEOUT
    );
  });
});
