import { mkdtemp, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { newJob, runStep, type RunnerJob } from '../helpers/runner.js';

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

  it.each(['sca', 'adversarial', 'container'])('the %s action fails red, naming the planned tools, never green', async (stage) => {
    const step = await runStep({ bundle: stage, workspace, job });
    expect(step.exitCode).toBe(1);
    const message = step.annotations.find((a) => a.command === 'error')?.message ?? '';
    expect(message).toMatch(new RegExp(`^secgate ${stage}: configuration: stages: stage '${stage}' has no tool adapters in this release \\(planned: `));
    expect(step.outputs['verdict']).toBeUndefined();
  });
});
