import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SourceCache, identify, normaliseSnippet, type RawFinding } from '@secgate/core';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-fp-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function raw(overrides: Partial<RawFinding> & { line?: number; file?: string } = {}): RawFinding {
  const { line = 3, file = 'app.py', ...rest } = overrides;
  return {
    tool: 'bandit',
    ruleId: 'B602',
    title: 'subprocess with shell=True',
    message: 'shell=True is dangerous',
    severity: 'high',
    location: { path: file, startLine: line },
    ...rest
  };
}

async function fingerprintOf(r: RawFinding): Promise<string> {
  const [finding] = await identify([r], new SourceCache(dir));
  return finding!.fingerprint;
}

const SOURCE = ['import subprocess', '', 'subprocess.call(cmd, shell=True)', 'print("done")', ''].join('\n');

describe('identify', () => {
  it('produces a 32-hex fingerprint and the real source line as snippet', async () => {
    await writeFile(path.join(dir, 'app.py'), SOURCE);
    const [finding] = await identify([raw()], new SourceCache(dir));
    expect(finding!.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect(finding!.snippet).toBe('subprocess.call(cmd, shell=True)');
    expect(finding!.sources).toEqual([{ tool: 'bandit', ruleId: 'B602' }]);
  });

  it('keeps the fingerprint when lines are inserted above the finding', async () => {
    await writeFile(path.join(dir, 'app.py'), SOURCE);
    const before = await fingerprintOf(raw({ line: 3 }));

    await writeFile(path.join(dir, 'app.py'), ['# header', '# another', '# third', SOURCE].join('\n'));
    const after = await fingerprintOf(raw({ line: 6 }));
    expect(after).toBe(before);
  });

  it('ignores indentation and whitespace changes', async () => {
    await writeFile(path.join(dir, 'app.py'), SOURCE);
    const before = await fingerprintOf(raw({ line: 3 }));

    await writeFile(
      path.join(dir, 'app.py'),
      ['import subprocess', '', 'if True:', '        subprocess.call(cmd,    shell=True)   \t', 'print("done")'].join('\n')
    );
    const after = await fingerprintOf(raw({ line: 4 }));
    expect(after).toBe(before);
    expect(normaliseSnippet('  a \t b\n  c  ')).toBe('a b c');
  });

  it('gives two identical findings in one file different fingerprints (ordinal), stable under reordering', async () => {
    const text = ['subprocess.call(cmd, shell=True)', 'x = 1', 'subprocess.call(cmd, shell=True)'].join('\n');
    await writeFile(path.join(dir, 'app.py'), text);
    const findings = await identify([raw({ line: 1 }), raw({ line: 3 })], new SourceCache(dir));
    expect(findings[0]!.fingerprint).not.toBe(findings[1]!.fingerprint);

    // Input order does not matter: the ordinal follows the position in the file.
    const reversed = await identify([raw({ line: 3 }), raw({ line: 1 })], new SourceCache(dir));
    expect(reversed[0]!.fingerprint).toBe(findings[1]!.fingerprint);
    expect(reversed[1]!.fingerprint).toBe(findings[0]!.fingerprint);
  });

  it('gives a different fingerprint for a different rule, tool or file', async () => {
    await writeFile(path.join(dir, 'app.py'), SOURCE);
    await writeFile(path.join(dir, 'other.py'), SOURCE);
    const base = await fingerprintOf(raw());
    expect(await fingerprintOf(raw({ ruleId: 'B603' }))).not.toBe(base);
    expect(await fingerprintOf(raw({ tool: 'semgrep' }))).not.toBe(base);
    expect(await fingerprintOf(raw({ file: 'other.py' }))).not.toBe(base);
  });

  it('uses the identity field instead of the source text when present', async () => {
    await writeFile(path.join(dir, 'requirements.txt'), 'requests==2.0.0\n');
    const dep = (line: number, identity: string): RawFinding =>
      raw({ tool: 'pip-audit', ruleId: 'GHSA-xxxx', file: 'requirements.txt', line, identity });
    const a = await fingerprintOf(dep(1, 'requests@2.0.0'));
    await writeFile(path.join(dir, 'requirements.txt'), '# pinned\n\nrequests == 2.0.0  # changed text\n');
    const b = await fingerprintOf(dep(3, 'requests@2.0.0'));
    expect(b).toBe(a);
    expect(await fingerprintOf(dep(3, 'requests@2.0.1'))).not.toBe(a);
  });

  it('never attaches a snippet to a sensitive finding, but still fingerprints it', async () => {
    await writeFile(path.join(dir, 'config.py'), 'TOKEN = "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"\n');
    const [finding] = await identify(
      [raw({ tool: 'gitleaks', ruleId: 'github-pat', file: 'config.py', line: 1, sensitive: true })],
      new SourceCache(dir)
    );
    expect(finding!.snippet).toBeUndefined();
    expect(JSON.stringify(finding)).not.toContain('ghp_');
    expect(finding!.fingerprint).toMatch(/^[0-9a-f]{32}$/);
  });

  it('has no snippet when the file is missing or the finding has no line', async () => {
    const [missing, noLine] = await identify(
      [raw({ file: 'gone.py' }), { ...raw(), location: { path: 'app.py' } }],
      new SourceCache(dir)
    );
    expect(missing!.snippet).toBeUndefined();
    expect(noLine!.snippet).toBeUndefined();
    expect(missing!.fingerprint).not.toBe(noLine!.fingerprint);
  });

  it('truncates long snippets to 300 characters', async () => {
    await writeFile(path.join(dir, 'app.py'), `x = "${'a'.repeat(1000)}"\n`);
    const [finding] = await identify([raw({ line: 1 })], new SourceCache(dir));
    expect(finding!.snippet!.length).toBe(300);
    expect(finding!.snippet!.endsWith('…')).toBe(true);
  });
});
