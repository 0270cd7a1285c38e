/**
 * Benchmark 2: ToolInstaller.install() per sast adapter with a warm tool cache (target ≤ 0.3 s
 * per tool). Bundled with ncc and run on Node 24 by bench/install.sh:
 *   node install-bench.js <runs> <out.json>   (env: SECGATE_MIRROR_DIR for the binary pins, RUNNER_TOOL_CACHE)
 * Each measurement uses a fresh ToolInstaller, as one scan does, so python tools include the
 * interpreter-version probe (memoised per installer). Then one engine-like round: all four at once.
 * Writes one JSON object to <out.json> (stdout carries @actions/tool-cache's ::debug:: lines).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ToolInstaller, silentLogger, type InstallSpec, type VersionOverride } from '@secgate/core';
import { sastStage } from '@secgate/sast';

const runs = Number(process.argv[2] ?? 9);
const outFile = process.argv[3] ?? 'install-bench.json';
process.env['RUNNER_TOOL_CACHE'] ||= path.join(os.homedir(), '.cache', 'secgate', 'tools');
process.env['RUNNER_TEMP'] ||= path.join(os.tmpdir(), 'secgate');

/** The loopback mirror's digests (see scripts/demo.sh): the pins the warm cache was filled with. */
function mirrorPins(): Record<string, VersionOverride> {
  const dir = process.env['SECGATE_MIRROR_DIR'] || path.join(os.homedir(), '.cache', 'secgate-ci', 'mirror');
  try {
    const sums = JSON.parse(readFileSync(path.join(dir, 'SHA256SUMS.json'), 'utf8')) as Record<string, string>;
    return {
      gitleaks: { version: '8.30.0', sha256: sums['gitleaks/8.30.0/linux-x64'] },
      'git-secrets': { version: '1.3.0', sha256: sums['git-secrets/1.3.0/any'] }
    };
  } catch {
    return {}; // no mirror: the committed lock's digests (a cache filled from GitHub)
  }
}

const overrides = mirrorPins();
const installer = (): ToolInstaller => new ToolInstaller({ logger: silentLogger, overrides });

async function timeOne(spec: InstallSpec): Promise<{ ms: number; cacheHit: boolean }> {
  const started = performance.now();
  const installed = await installer().install(spec);
  return { ms: performance.now() - started, cacheHit: installed.cacheHit };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const perTool: Record<string, { medianMs: number; minMs: number; maxMs: number; firstMs: number; cacheHit: boolean }> = {};
for (const adapter of sastStage.adapters) {
  const times: number[] = [];
  let cacheHit = true;
  for (let i = 0; i < runs + 1; i++) {
    const one = await timeOne(adapter.install);
    cacheHit &&= one.cacheHit;
    times.push(one.ms);
  }
  // The first call in the process also pays lazy module/JIT warm-up: reported apart, not in the median.
  const [first, ...rest] = times;
  perTool[adapter.id] = { medianMs: median(rest), minMs: Math.min(...rest), maxMs: Math.max(...rest), firstMs: first!, cacheHit };
}

// As the engine does it: one installer, all four concurrently.
const shared = installer();
const concurrentStart = performance.now();
const concurrent = await Promise.all(
  sastStage.adapters.map(async (adapter) => {
    const t0 = performance.now();
    const installed = await shared.install(adapter.install);
    return { tool: adapter.id, ms: performance.now() - t0, recordedMs: installed.durationMs, cacheHit: installed.cacheHit };
  })
);
const concurrentWallMs = performance.now() - concurrentStart;

writeFileSync(outFile, JSON.stringify({ node: process.version, runs, perTool, concurrent, concurrentWallMs }, null, 2) + '\n');
const cold = Object.entries(perTool).filter(([, v]) => !v.cacheHit);
if (cold.length > 0) {
  console.error(`not a warm cache for: ${cold.map(([k]) => k).join(', ')} (run bench/stage-vs-raw.sh or npm run demo first)`);
  process.exitCode = 3;
}
