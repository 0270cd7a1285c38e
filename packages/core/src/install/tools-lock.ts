/**
 * Pinned tool versions and their SHA-256 digests: the trust root for every download.
 * Bumped only by reviewed pull requests. Binary digests are of the official release assets
 * (cross-checked against upstream's checksums file); Python entries are pip `--require-hashes`
 * requirement sets in locks/<tool>-<version>.txt, written by scripts/lock-python-tools.sh
 * (`pip-compile --generate-hashes` for the pinned version).
 */
import { readFileSync } from 'node:fs';

export interface ToolsLock {
  binary: Record<string, Record<string, Record<string, string>>>;
  python: Record<string, Record<string, string>>;
}

/**
 * The text pip reads, without the file's final newline: the install marker's digest is taken
 * over this text, so existing cache entries stay valid.
 */
export function requirementSet(fileText: string): string {
  return fileText.replace(/\n+$/, '');
}

// One static `readFileSync(new URL(...))` per file: ncc copies exactly these files next to each
// bundle (a computed name or a directory listing would not be bundled).
export const PYTHON_LOCKS: ToolsLock['python'] = {
  bandit: { '1.9.4': requirementSet(readFileSync(new URL('./locks/bandit-1.9.4.txt', import.meta.url), 'utf8')) },
  semgrep: { '1.185.0': requirementSet(readFileSync(new URL('./locks/semgrep-1.185.0.txt', import.meta.url), 'utf8')) }
};

export const TOOLS_LOCK: ToolsLock = {
  binary: {
    gitleaks: {
      '8.30.0': {
        'linux-x64': '79a3ab579b53f71efd634f3aaf7e04a0fa0cf206b7ed434638d1547a2470a66e',
        'linux-arm64': 'b4cbbb6ddf7d1b2a603088cd03a4e3f7ce48ee7fd449b51f7de6ee2906f5fa2f'
      }
    },
    'git-secrets': {
      // Source archive of tag 1.3.0 (a shell script): the same file on every platform.
      '1.3.0': { any: 'f1d50c6c5c7564f460ff8d279081879914abe920415c2923934c1f1d1fac3606' }
    }
  },
  python: PYTHON_LOCKS
};
