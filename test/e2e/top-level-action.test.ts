import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { newJob, runStep, type RunnerJob } from '../helpers/runner.js';
import { PAYLOAD_OPERATOR, writeModelFiles } from '../../packages/sca/test/helpers/model-files.js';

// The top-level action (dist/all, `stages:` input) and the stage actions that have no adapters yet.

describe('top-level action and planned stages', () => {
  let job: RunnerJob;
  let workspace: string;
  beforeAll(async () => {
    job = await newJob({ sharedToolCache: true });
    workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-all-'));
    await writeFile(path.join(workspace, 'app.py'), 'import subprocess\nsubprocess.call(cmd, shell=True)\n');
  });

  it('runs the chosen stages in one scan', async () => {
    const step = await runStep({ bundle: 'all', workspace, job, inputs: { stages: 'sast', tools: 'bandit', 'fail-on': 'high' } });
    expect(step.exitCode).toBe(1);
    expect(step.outputs['verdict']).toBe('fail');
    expect(step.summary).toContain('## secgate sast: ❌ failed');
    expect(path.basename(step.outputs['sarif-file']!)).toBe('sast.sarif');
  });

  it('an unknown stage is a configuration error', async () => {
    const step = await runStep({ bundle: 'all', workspace, job, inputs: { stages: 'sast,typo' } });
    expect(step.exitCode).toBe(1);
    expect(step.annotations.find((a) => a.command === 'error')?.message).toContain("unknown stage 'typo'");
  });

  it('runs sast and sca in one scan: both stages\' findings in one report', async () => {
    // app.py (bandit) and one generated malicious pickle (picklescan), never loaded.
    const mixed = await mkdtemp(path.join(os.tmpdir(), 'secgate-all-sca-'));
    const generated = await mkdtemp(path.join(os.tmpdir(), 'secgate-all-models-'));
    try {
      await writeFile(path.join(mixed, 'app.py'), 'import subprocess\nsubprocess.call(cmd, shell=True)\n');
      await writeModelFiles(generated);
      await mkdir(path.join(mixed, 'models'));
      await copyFile(path.join(generated, 'malicious.pkl'), path.join(mixed, 'models', 'malicious.pkl'));
      const step = await runStep({ bundle: 'all', workspace: mixed, job, inputs: { stages: 'sast,sca', tools: 'bandit,picklescan', 'fail-on': 'high', cache: 'false' }, timeoutMs: 600_000 });
      expect(step.exitCode).toBe(1);
      expect(step.outputs['verdict']).toBe('fail');
      expect(path.basename(step.outputs['sarif-file']!)).toBe('sast+sca.sarif');
      const report = JSON.parse(await readFile(step.outputs['report-file']!, 'utf8')) as {
        stages: string[];
        verdict: string;
        errors: unknown[];
        tools: { tool: string }[];
        findings: { tool: string; severity: string; location?: { path: string }; ruleId: string }[];
      };
      expect(report.stages).toEqual(['sast', 'sca']);
      expect(report.verdict).toBe('fail');
      expect(report.errors).toEqual([]);
      expect(report.tools.map((t) => t.tool).sort()).toEqual(['bandit', 'picklescan']);
      const bandit = report.findings.filter((f) => f.tool === 'bandit');
      expect(bandit.some((f) => f.location?.path === 'app.py' && f.ruleId === 'B602')).toBe(true);
      const pickle = report.findings.filter((f) => f.tool === 'picklescan');
      expect(pickle).toEqual([expect.objectContaining({ severity: 'critical', ruleId: PAYLOAD_OPERATOR, location: expect.objectContaining({ path: 'models/malicious.pkl' }) })]);
      expect(step.annotations.some((a) => a.properties['file'] === 'app.py' && a.command === 'error')).toBe(true);
      expect(step.annotations.some((a) => a.properties['file'] === 'models/malicious.pkl' && a.command === 'error')).toBe(true);
      expect(step.summary).toContain('## secgate sast, sca: ❌ failed');
      expect(step.summary).toMatch(/\| Bandit \| sast \|/);
      expect(step.summary).toMatch(/\| picklescan \| sca \|/);
    } finally {
      await rm(mixed, { recursive: true, force: true });
      await rm(generated, { recursive: true, force: true });
    }
  }, 600_000);
});
