import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { ConfigurationError } from '@secgate/core';
import { readImageArchive, streamLayer, type ImageArchive } from '../src/image.js';
import { debianBaseLayer, pythonPackagesLayer, writeDockerArchive, writeOciArchive, type ImageSpec } from '../../../test/helpers/image-tar.js';

const SPEC: ImageSpec = {
  layers: [debianBaseLayer(), pythonPackagesLayer([{ name: 'PyYAML', version: '5.3' }])],
  env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8'],
  user: 'app',
  history: ['ADD rootfs.tar /', 'RUN pip install PyYAML==5.3']
};

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

interface TarEntry {
  name: string;
  data: Buffer;
  type?: 'file' | 'symlink' | 'directory';
  linkname?: string;
}

async function readTar(file: string): Promise<TarEntry[]> {
  const extract = tarStream.extract();
  const out: TarEntry[] = [];
  const input = await readFile(file);
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      out.push({ name: entry.header.name, data: Buffer.concat(chunks), type: entry.header.type as TarEntry['type'], linkname: entry.header.linkname || undefined });
    }
  })();
  extract.end(input);
  await done;
  return out;
}

async function writeTar(file: string, entries: TarEntry[]): Promise<void> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname! });
    else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
    else pack.entry({ name: e.name, size: e.data.length }, e.data);
  }
  pack.finalize();
  await ended;
  await writeFile(file, Buffer.concat(chunks));
}

async function layerBytes(archive: ImageArchive, digest: string): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  await streamLayer(archive, digest, sink);
  sink.end();
  return Buffer.concat(chunks);
}

async function refusal(promise: Promise<unknown>): Promise<ConfigurationError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).key).toBe('image-tar');
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('image tarball reader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-image-'));
  });

  it('reads a docker-archive: config, layers, RepoTags and a synthesised manifest digest equal to the OCI archive of the same image', async () => {
    const docker = await writeDockerArchive(SPEC, path.join(dir, 'docker.tar'), 'secgate-test/app:1');
    const oci = await writeOciArchive(SPEC, path.join(dir, 'oci.tar'));
    const archive = await readImageArchive(docker.file);
    expect(archive.format).toBe('docker-archive');
    expect(archive.manifestSynthesised).toBe(true);
    expect(archive.configDigest).toBe(docker.configDigest);
    expect(archive.layers.map((l) => l.digest)).toEqual(docker.layerDigests);
    expect(archive.layers.map((l) => l.diffId)).toEqual(docker.layerDigests);
    expect(archive.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar')).toBe(true);
    expect(archive.repoTags).toEqual(['secgate-test/app:1']);
    expect(archive.config).toMatchObject({ env: SPEC.env, user: 'app', os: 'linux', architecture: 'amd64' });
    expect(archive.config.history.map((h) => h.createdBy)).toEqual(SPEC.history);
    // Deterministic, and the digest the OCI layout of the same image carries.
    expect(archive.manifestDigest).toBe(oci.manifestDigest);
    expect((await readImageArchive(docker.file)).manifestDigest).toBe(archive.manifestDigest);
  });

  it('reads an OCI archive: the manifest digest from index.json, verified blobs, the ref name', async () => {
    const oci = await writeOciArchive(SPEC, path.join(dir, 'oci2.tar'), 'v1');
    const archive = await readImageArchive(oci.file);
    expect(archive.format).toBe('oci-archive');
    expect(archive.manifestSynthesised).toBe(false);
    expect(archive.manifestDigest).toBe(oci.manifestDigest);
    expect(archive.configDigest).toBe(oci.configDigest);
    expect(archive.layers.map((l) => l.digest)).toEqual(oci.layerDigests);
    expect(archive.repoTags).toEqual(['v1']);
    expect(archive.config.user).toBe('app');
  });

  it('streams each layer blob by digest, bytes matching the digest (plain and gzip-compressed archives)', async () => {
    const docker = await writeDockerArchive(SPEC, path.join(dir, 'stream.tar'));
    await writeFile(path.join(dir, 'stream.tar.gz'), gzipSync(await readFile(docker.file)));
    for (const file of [docker.file, path.join(dir, 'stream.tar.gz')]) {
      const archive = await readImageArchive(file);
      for (const layer of archive.layers) {
        const bytes = await layerBytes(archive, layer.digest);
        expect(sha256(bytes)).toBe(layer.digest);
        expect(bytes.length).toBe(layer.size);
      }
    }
    const archive = await readImageArchive(docker.file);
    await refusal(layerBytes(archive, `sha256:${'0'.repeat(64)}`));
  });

  it('refuses to stream a layer whose bytes changed after the archive was read', async () => {
    const docker = await writeDockerArchive(SPEC, path.join(dir, 'changing.tar'));
    const archive = await readImageArchive(docker.file);
    const entries = await readTar(docker.file);
    const layer = entries.find((e) => e.name.endsWith('/layer.tar'))!;
    layer.data = Buffer.from(layer.data);
    layer.data[layer.data.length - 1] ^= 0xff;
    await writeTar(docker.file, entries);
    // The first layer.tar in the archive is layer 1 (writeDockerArchive writes them in order).
    const error = await refusal(layerBytes(archive, archive.layers[0]!.digest));
    expect(error.message).toMatch(/changed since it was read/);
  });

  it('follows an in-archive symlink between identical layers (older docker save)', async () => {
    const docker = await writeDockerArchive({ layers: [debianBaseLayer()] }, path.join(dir, 'link.tar'));
    const entries = await readTar(docker.file);
    const layer = entries.find((e) => e.name.endsWith('/layer.tar'))!;
    const manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.data.toString()) as { Layers: string[] }[];
    manifest[0]!.Layers = ['other/layer.tar'];
    const rewritten = entries.map((e) => (e.name === 'manifest.json' ? { ...e, data: Buffer.from(JSON.stringify(manifest)) } : e));
    rewritten.push({ name: 'other/layer.tar', data: Buffer.alloc(0), type: 'symlink', linkname: `../${layer.name}` });
    await writeTar(path.join(dir, 'link2.tar'), rewritten);
    const archive = await readImageArchive(path.join(dir, 'link2.tar'));
    expect(archive.layers.map((l) => l.digest)).toEqual(docker.layerDigests);
    expect(sha256(await layerBytes(archive, docker.layerDigests[0]!))).toBe(docker.layerDigests[0]);
  });

  describe('refusals name the file and the problem', () => {
    async function rewritten(name: string, build: (entries: TarEntry[]) => TarEntry[], format: 'docker' | 'oci' = 'docker'): Promise<string> {
      const source = path.join(dir, `${name}.src.tar`);
      if (format === 'docker') await writeDockerArchive(SPEC, source);
      else await writeOciArchive(SPEC, source);
      const target = path.join(dir, `${name}.tar`);
      await writeTar(target, build(await readTar(source)));
      return target;
    }

    it('a file that is not a tar', async () => {
      await writeFile(path.join(dir, 'noise.tar'), Buffer.alloc(2048, 7));
      expect((await refusal(readImageArchive(path.join(dir, 'noise.tar')))).message).toMatch(/noise\.tar: is not a readable tar archive/);
    });

    it('a corrupt gzip', async () => {
      await writeFile(path.join(dir, 'bad.tar.gz'), Buffer.concat([gzipSync(Buffer.alloc(4096, 1)).subarray(0, 20)]));
      expect((await refusal(readImageArchive(path.join(dir, 'bad.tar.gz')))).message).toMatch(/gzip|tar/);
    });

    it('a tar that is neither format', async () => {
      const file = path.join(dir, 'plain.tar');
      await writeTar(file, [{ name: 'README', data: Buffer.from('hello') }]);
      expect((await refusal(readImageArchive(file))).message).toMatch(/neither a docker-archive .* nor an OCI image layout/);
    });

    it('a missing layer', async () => {
      const file = await rewritten('missing', (entries) => entries.filter((e, i) => !(e.name.endsWith('/layer.tar') && i === entries.findIndex((x) => x.name.endsWith('/layer.tar')))));
      expect((await refusal(readImageArchive(file))).message).toMatch(/layer 1 ".*layer\.tar" is missing from the archive/);
    });

    it('a missing OCI blob', async () => {
      const file = await rewritten('missing-oci', (entries) => entries.filter((e) => !(e.name.startsWith('blobs/') && e.data.length > 2000)), 'oci');
      expect((await refusal(readImageArchive(file))).message).toMatch(/is missing from the archive \(no blobs\/sha256\//);
    });

    it('a layer that does not match the config diff_ids', async () => {
      const file = await rewritten('mismatch', (entries) =>
        entries.map((e) => (e.name.endsWith('/layer.tar') ? { ...e, data: Buffer.concat([e.data.subarray(0, 512), Buffer.alloc(e.data.length - 512)]) } : e))
      );
      expect((await refusal(readImageArchive(file))).message).toMatch(/digest mismatch/);
    });

    it('an OCI blob that does not match its name', async () => {
      const file = await rewritten('blob-mismatch', (entries) => entries.map((e) => (e.name.startsWith('blobs/') && e.data.length > 2000 ? { ...e, data: Buffer.alloc(e.data.length) } : e)), 'oci');
      expect((await refusal(readImageArchive(file))).message).toMatch(/does not match its digest/);
    });

    it('a config that does not match its digest name', async () => {
      const file = await rewritten('config-mismatch', (entries) =>
        entries.map((e) => (/^[a-f0-9]{64}\.json$/.test(e.name) ? { ...e, data: Buffer.from(e.data.toString().replace('"amd64"', '"arm64"')) } : e))
      );
      expect((await refusal(readImageArchive(file))).message).toMatch(/config .* does not match its digest/);
    });

    it.each([['../escape'], ['/etc/passwd'], ['a/../../b']])('an entry named %s', async (name) => {
      const file = await rewritten(`traversal-${name.replace(/\W/g, '_')}`, (entries) => [...entries, { name, data: Buffer.from('x') }]);
      expect((await refusal(readImageArchive(file))).message).toMatch(/climbs out of the archive|is an absolute path/);
    });

    it('a symlink out of the archive', async () => {
      const file = await rewritten('link-out', (entries) => {
        const manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.data.toString()) as { Layers: string[] }[];
        manifest[0]!.Layers[0] = 'evil/layer.tar';
        return [...entries.map((e) => (e.name === 'manifest.json' ? { ...e, data: Buffer.from(JSON.stringify(manifest)) } : e)), { name: 'evil/layer.tar', data: Buffer.alloc(0), type: 'symlink', linkname: '../../../etc/passwd' }];
      });
      expect((await refusal(readImageArchive(file))).message).toMatch(/links to .*climbs out of the archive/);
    });

    it('a duplicate entry', async () => {
      const file = await rewritten('dup', (entries) => [...entries, entries.find((e) => e.name === 'manifest.json')!]);
      expect((await refusal(readImageArchive(file))).message).toMatch(/names "manifest.json" twice/);
    });

    it('an archive of two images', async () => {
      const file = await rewritten('two', (entries) =>
        entries.map((e) => {
          if (e.name !== 'manifest.json') return e;
          const manifest = JSON.parse(e.data.toString()) as unknown[];
          return { ...e, data: Buffer.from(JSON.stringify([manifest[0], manifest[0]])) };
        })
      );
      expect((await refusal(readImageArchive(file))).message).toMatch(/lists 2 images/);
    });

    it('a garbled manifest field', async () => {
      const file = await rewritten('garbled', (entries) =>
        entries.map((e) => (e.name === 'manifest.json' ? { ...e, data: Buffer.from(JSON.stringify([{ Config: 7, Layers: [] }])) } : e))
      );
      expect((await refusal(readImageArchive(file))).message).toMatch(/manifest\.json\[0\]\.Config is the number 7, expected a string/);
    });
  });
});
