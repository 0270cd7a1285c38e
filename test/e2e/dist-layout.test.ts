import { readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { DIST_DIR } from '../helpers/runner.js';

// ncc copies assets next to each bundle by base name: an asset called package.json once replaced
// the bundle's own `{"type":"module"}` marker. Each bundle's package.json must stay exactly that.
describe('dist/ layout', () => {
  it('every bundle has index.js and the ESM marker package.json, and no other package.json', async () => {
    const bundles = (await readdir(DIST_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(bundles.sort()).toEqual(['adversarial', 'all', 'cli', 'container', 'sast', 'sca']);
    for (const bundle of bundles) {
      const files = await readdir(path.join(DIST_DIR, bundle));
      expect(files).toContain('index.js');
      expect(JSON.parse(await readFile(path.join(DIST_DIR, bundle, 'package.json'), 'utf8'))).toEqual({ type: 'module' });
      expect(files.filter((f) => f === 'package-lock.json')).toEqual([]);
    }
  });
});
