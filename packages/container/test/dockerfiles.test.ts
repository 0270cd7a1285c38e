/**
 * Dockerfile discovery and the `dockerfile` option: names, excludes, skipped directories, and the
 * workspace boundary (symlinks to outside are never followed, named paths outside are refused).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigurationError } from '@secgate/core';
import { findDockerfiles, isDockerfileName, resolveDockerfileOption } from '../src/dockerfiles.js';

let root: string;

/** Writes `files` (relative path → content) under a new directory of `root`. */
async function tree(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(root, name);
  for (const [relative, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, relative)), { recursive: true });
    await writeFile(path.join(dir, relative), content);
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-dockerfiles-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('isDockerfileName', () => {
  it.each([
    ['Dockerfile', true],
    ['Containerfile', true],
    ['Dockerfile.prod', true],
    ['Containerfile.dev', true],
    ['api.Dockerfile', true],
    ['api.dockerfile', true],
    ['Dockerfile.dockerignore', false],
    ['api.Dockerfile.dockerignore', false],
    ['dockerfile', false],
    ['Dockerfile.', false],
    ['MyDockerfile', false],
    ['Dockerfiles', false],
    ['docker-compose.yml', false],
    ['.dockerfile', false]
  ])('%s → %s', (name, expected) => {
    expect(isDockerfileName(name)).toBe(expected);
  });
});

describe('findDockerfiles', () => {
  let workspace: string;
  let outside: string;

  beforeAll(async () => {
    outside = await tree('outside', { Dockerfile: 'FROM scratch\n', 'dir/Dockerfile': 'FROM scratch\n' });
    workspace = await tree('ws', {
      Dockerfile: 'FROM scratch\n',
      'Dockerfile.dockerignore': '*\n',
      'README.md': '# x\n',
      'services/api/api.Dockerfile': 'FROM scratch\n',
      'services/api/Containerfile': 'FROM scratch\n',
      'services/web/Dockerfile.prod': 'FROM scratch\n',
      'services/web/worker.dockerfile': 'FROM scratch\n',
      'vendor/lib/Dockerfile': 'FROM scratch\n',
      'build/tmp/Dockerfile': 'FROM scratch\n',
      'node_modules/pkg/Dockerfile': 'FROM scratch\n',
      'deep/node_modules/pkg/Dockerfile': 'FROM scratch\n',
      '.git/Dockerfile': 'FROM scratch\n',
      '.github/Dockerfile': 'FROM scratch\n'
    });
    // A link to a Dockerfile outside, a link to a directory outside, a link to a directory inside
    // (never entered: its files are found where they are), a link to a Dockerfile inside.
    await symlink(path.join(outside, 'Dockerfile'), path.join(workspace, 'escape.Dockerfile'));
    await symlink(path.join(outside, 'dir'), path.join(workspace, 'linked-outside'));
    await symlink(path.join(workspace, 'services'), path.join(workspace, 'linked-inside'));
    await symlink(path.join(workspace, 'services', 'api', 'Containerfile'), path.join(workspace, 'alias.Dockerfile'));
    await symlink(path.join(workspace, 'missing'), path.join(workspace, 'dangling.Dockerfile'));
  });

  it('finds every Dockerfile name under the targets, skipping .git, node_modules and symlinks that leave the workspace', async () => {
    expect(await findDockerfiles(workspace, ['.'], [])).toEqual([
      '.github/Dockerfile',
      'Dockerfile',
      'alias.Dockerfile',
      'build/tmp/Dockerfile',
      'services/api/Containerfile',
      'services/api/api.Dockerfile',
      'services/web/Dockerfile.prod',
      'services/web/worker.dockerfile',
      'vendor/lib/Dockerfile'
    ]);
  });

  it('honours exclude globs (a directory pattern covers everything below it)', async () => {
    expect(await findDockerfiles(workspace, ['.'], ['vendor', '**/tmp/**', '**/*.Dockerfile', 'services/web/Dockerfile.*'])).toEqual([
      '.github/Dockerfile',
      'Dockerfile',
      'services/api/Containerfile',
      'services/web/worker.dockerfile'
    ]);
    // Without `**/`, a glob is anchored at the workspace root, as everywhere in secgate.
    expect(await findDockerfiles(workspace, ['services'], ['*.Dockerfile'])).toContain('services/api/api.Dockerfile');
  });

  it('walks only the targets; a target file counts by its name; targets outside the workspace give nothing', async () => {
    expect(await findDockerfiles(workspace, ['services/web', 'Dockerfile', 'README.md'], [])).toEqual(['Dockerfile', 'services/web/Dockerfile.prod', 'services/web/worker.dockerfile']);
    expect(await findDockerfiles(workspace, ['services/api/'], [])).toEqual(['services/api/Containerfile', 'services/api/api.Dockerfile']);
    expect(await findDockerfiles(workspace, ['../outside', 'linked-outside', 'escape.Dockerfile', path.join(outside, 'Dockerfile')], [])).toEqual([]);
    // An excluded target directory is not walked.
    expect(await findDockerfiles(workspace, ['vendor'], ['vendor'])).toEqual([]);
  });

  it('returns nothing (not an error) for a tree without Dockerfiles', async () => {
    const empty = await tree('empty', { 'main.tf': 'resource "x" "y" {}\n' });
    expect(await findDockerfiles(empty, ['.'], [])).toEqual([]);
  });
});

describe('resolveDockerfileOption', () => {
  let outside: string;

  beforeAll(async () => {
    outside = await tree('outside-option', { Dockerfile: 'FROM scratch\n' });
  });

  it('takes the named file, workspace-relative', async () => {
    const workspace = await tree('named', { 'build/app.Dockerfile': 'FROM scratch\n', Dockerfile: 'FROM scratch\n' });
    expect(await resolveDockerfileOption(workspace, { dockerfile: './build/../build/app.Dockerfile' }, [])).toBe('build/app.Dockerfile');
  });

  it('refuses a named file outside the workspace, through a symlink, missing, or a directory', async () => {
    const workspace = await tree('named-bad', { 'sub/Dockerfile': 'FROM scratch\n' });
    await symlink(path.join(outside, 'Dockerfile'), path.join(workspace, 'link.Dockerfile'));
    const cases: [string, RegExp][] = [
      ['../outside-option/Dockerfile', /outside the workspace/],
      [path.join(outside, 'Dockerfile'), /outside the workspace/],
      ['link.Dockerfile', /outside the workspace/],
      ['nope/Dockerfile', /does not exist or is not a regular file/],
      ['sub', /does not exist or is not a regular file/]
    ];
    for (const [value, message] of cases) {
      const promise = resolveDockerfileOption(workspace, { dockerfile: value }, ['sub/Dockerfile']);
      await expect(promise).rejects.toThrow(ConfigurationError);
      await expect(resolveDockerfileOption(workspace, { dockerfile: value }, ['sub/Dockerfile'])).rejects.toThrow(message);
    }
  });

  it('defaults to the root Dockerfile, else the only one found, else none', async () => {
    const withRoot = await tree('default-root', { Dockerfile: 'FROM scratch\n', 'a/Dockerfile': 'FROM scratch\n' });
    expect(await resolveDockerfileOption(withRoot, {}, ['Dockerfile', 'a/Dockerfile'])).toBe('Dockerfile');
    expect(await resolveDockerfileOption(withRoot, { dockerfile: '  ' }, ['a/Dockerfile'])).toBe('Dockerfile');
    const single = await tree('default-single', { 'a/Dockerfile': 'FROM scratch\n' });
    expect(await resolveDockerfileOption(single, {}, ['a/Dockerfile'])).toBe('a/Dockerfile');
    expect(await resolveDockerfileOption(single, {}, ['a/Dockerfile', 'b/Dockerfile'])).toBeUndefined();
    expect(await resolveDockerfileOption(single, {}, [])).toBeUndefined();
  });

  it('does not take a root Dockerfile that is a symlink to outside the workspace', async () => {
    const workspace = await tree('default-link', { 'a/Dockerfile': 'FROM scratch\n' });
    await symlink(path.join(outside, 'Dockerfile'), path.join(workspace, 'Dockerfile'));
    expect(await resolveDockerfileOption(workspace, {}, ['a/Dockerfile'])).toBe('a/Dockerfile');
  });
});
