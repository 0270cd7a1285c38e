/**
 * hadolint's install spec against the core installer and the committed lock: the official bare
 * binary served by the loopback release mirror (scripts/tools/build-mirror.sh) under its official
 * URL path is installed and runs; a tampered asset is refused and nothing is cached.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ChecksumMismatchError, MemoryLogger, TOOLS_LOCK, ToolInstaller } from '@secgate/core';
import { hadolintAdapter } from '../src/adapters/hadolint.js';
import { mirrorAvailable, mirrorRoot, startReleaseMirror } from '../../../test/helpers/release-mirror.js';
import { requireTool } from '../../../test/helpers/runner.js';

const run = promisify(execFile);
const ASSET_PATH = 'hadolint/hadolint/releases/download/v2.15.1/hadolint-linux-x86_64';

let job: { root: string; toolCache: string };
const savedEnv = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };

beforeEach(async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'secgate-hadolint-install-'));
  job = { root, toolCache: path.join(root, 'tool-cache') };
  await mkdir(job.toolCache, { recursive: true });
  await mkdir(path.join(root, 'temp'), { recursive: true });
  process.env['RUNNER_TOOL_CACHE'] = job.toolCache;
  process.env['RUNNER_TEMP'] = path.join(root, 'temp');
});

afterEach(async () => {
  for (const [name, value] of [['RUNNER_TOOL_CACHE', savedEnv.cache], ['RUNNER_TEMP', savedEnv.temp]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(job.root, { recursive: true, force: true });
});

function installer(mirrorUrl: string): ToolInstaller {
  // The committed lock, not the mirror's: the mirror must serve the official bytes.
  return new ToolInstaller({ logger: new MemoryLogger(), mirrorUrl, lock: TOOLS_LOCK, platform: 'linux-x64' });
}

describe('hadolint 2.15.1 install (loopback release mirror, committed lock)', () => {
  it('installs the official binary under its release path, verified, and it runs', async () => {
    if (!mirrorAvailable() || !requireTool(existsSync(path.join(mirrorRoot(), ASSET_PATH)), `hadolint in the release mirror (${ASSET_PATH})`)) return;
    const mirror = await startReleaseMirror(mirrorRoot());
    try {
      const tool = await installer(mirror.url).install(hadolintAdapter.install);
      expect(tool).toMatchObject({ tool: 'hadolint', version: '2.15.1', verified: true, cacheHit: false, baseArgs: [] });
      expect(path.basename(tool.command)).toBe('hadolint');
      expect(mirror.requests.map((r) => `${r.status} ${r.path}`)).toContain(`200 /${ASSET_PATH}`);
      const { stdout } = await run(tool.command, ['--version'], { timeout: 30_000 });
      expect(stdout).toContain('2.15.1');
      const again = await installer(mirror.url).install(hadolintAdapter.install);
      expect(again.cacheHit).toBe(true);
    } finally {
      await mirror.close();
    }
  }, 120_000);

  it('refuses a tampered asset (checksum mismatch) and caches nothing', async () => {
    if (!mirrorAvailable()) return;
    const mirror = await startReleaseMirror(mirrorRoot(), { faults: { [ASSET_PATH]: { body: '#!/bin/sh\necho "[]"\n' } } });
    try {
      const attempt = installer(mirror.url).install(hadolintAdapter.install);
      await expect(attempt).rejects.toThrow(ChecksumMismatchError);
      await expect(installer(mirror.url).install(hadolintAdapter.install)).rejects.toThrow(/expected sha256 c7187db94eeeeca956519a6af171adc31453941a1e777961f6e680f697c8c507/);
      const cached = existsSync(path.join(job.toolCache, 'hadolint')) ? await readdir(path.join(job.toolCache, 'hadolint'), { recursive: true }) : [];
      expect(cached.filter((entry) => String(entry).endsWith('hadolint'))).toEqual([]);
    } finally {
      await mirror.close();
    }
  }, 60_000);
});
