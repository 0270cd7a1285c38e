/**
 * The loopback OSV API of the tests (test/helpers/osv-api.ts: the real records of
 * ../shared/fixtures/advisories) as a process, for bench/sca-vs-raw.sh and bench/sca-parity.sh.
 * Bundled with ncc and run on Node 24: `node index.js <url-file> [offline-db-dir]` writes the URL to
 * <url-file> once listening (and, with a directory, builds osv-scanner's offline zips there first),
 * then serves until SIGTERM/SIGINT, at most an hour (like the release mirror of scripts/tools/mirror.sh).
 */
import { writeFile } from 'node:fs/promises';
import { startOsvApi } from '../test/helpers/osv-api.js';
import { buildOfflineDb } from '../test/helpers/osv-offline-db.js';

async function main(): Promise<void> {
  const [urlFile, offlineDir] = process.argv.slice(2);
  if (!urlFile) throw new Error('usage: sca-osv-api <url-file> [offline-db-dir]');
  if (offlineDir) await buildOfflineDb({ ecosystems: ['PyPI'], dir: offlineDir });
  const api = await startOsvApi({ maxRequests: 1_000_000 });
  await writeFile(urlFile, api.url);
  const stop = (): void => {
    void api.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setTimeout(stop, 3_600_000);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
