import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT, SHARED_TOOL_CACHE } from '../helpers/runner.js';

// The README's main job, `npm run demo` (scripts/demo.sh), exactly as a user runs it: the sast and container stages on
// examples/ml-service through the CLI bundle, tools from PyPI and the loopback release mirror. The
// example is vulnerable on purpose, so the gate fails (exit 1) with every tool healthy.
describe('npm run demo (README)', () => {
  it('scans the example with the four sast tools and Trivy, Checkov and hadolint, and fails the gate, exit 1', () => {
    const run = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'demo.sh')], {
      cwd: REPO_ROOT,
      // The test tool cache: the demo's installs are the ones the other suites use (keyed by version).
      env: { ...process.env, RUNNER_TOOL_CACHE: SHARED_TOOL_CACHE, NO_COLOR: '1', FORCE_COLOR: '' },
      encoding: 'utf8',
      timeout: 600_000
    });
    expect(run.stderr).not.toMatch(/secgate: (configuration|internal error)/);
    expect(run.status).toBe(1);
    for (const tool of ['Bandit 1.9.4: ok', 'Semgrep 1.185.0: ok', 'gitleaks 8.30.0: ok', 'git-secrets 1.3.0: ok', 'Trivy 0.74.0: ok', 'Checkov 3.3.30: ok', 'hadolint 2.15.1: ok']) {
      expect(run.stdout).toContain(tool);
    }
    expect(run.stdout).toMatch(/Verdict: FAIL: \d+ finding\(s\) at or above high/);
  }, 600_000);
});
