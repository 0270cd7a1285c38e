/**
 * Container image tarballs built by hand, without a Docker daemon: the two formats `trivy image --input`
 * and the container stage's `image-tar` input read.
 *
 * - docker-archive (what `docker save` writes): manifest.json, <config>.json, <layer>/layer.tar;
 * - OCI image layout in a tar (what `skopeo copy … oci-archive:` writes): oci-layout, index.json, blobs/sha256/….
 *
 * Layers are plain (uncompressed) tars with fixed mtimes, so the digests are stable across runs.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import tarStream from 'tar-stream';

export interface ImageFile {
  /** Path inside the image, without a leading `/`. */
  path: string;
  content: string | Buffer;
  mode?: number;
}

export interface ImageSpec {
  /** Files per layer, lowest layer first. */
  layers: ImageFile[][];
  /** `KEY=value` entries of the image config's Env (where a token planted "in its config" goes). */
  env?: string[];
  cmd?: string[];
  user?: string;
  labels?: Record<string, string>;
  /** Dockerfile-like history lines, one per layer (`created_by`). */
  history?: string[];
}

export interface BuiltImage {
  file: string;
  format: 'docker-archive' | 'oci-archive';
  /** `sha256:<hex>` of the config blob (the image ID). */
  configDigest: string;
  /** `sha256:<hex>` of each uncompressed layer tar (= rootfs.diff_ids). */
  layerDigests: string[];
  /** `sha256:<hex>` of the OCI manifest (oci-archive only). */
  manifestDigest?: string;
}

const FIXED_MTIME = new Date('2026-01-01T00:00:00Z');

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** A tar of entries (name → bytes), in order, with fixed metadata. Parent directories are added for layer files. */
async function tarOf(entries: { name: string; data: Buffer; mode?: number }[], withDirs: boolean): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  const dirs = new Set<string>();
  for (const entry of entries) {
    if (withDirs) {
      const parts = entry.name.split('/').slice(0, -1);
      for (let i = 1; i <= parts.length; i++) {
        const dir = parts.slice(0, i).join('/');
        if (dirs.has(dir)) continue;
        dirs.add(dir);
        pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, mtime: FIXED_MTIME, uid: 0, gid: 0 });
      }
    }
    pack.entry({ name: entry.name, size: entry.data.length, mode: entry.mode ?? 0o644, mtime: FIXED_MTIME, uid: 0, gid: 0 }, entry.data);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function layerTars(spec: ImageSpec): Promise<Buffer[]> {
  return Promise.all(
    spec.layers.map((files) =>
      tarOf(
        files.map((f) => ({ name: f.path.replace(/^\/+/, ''), data: Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content), ...(f.mode !== undefined ? { mode: f.mode } : {}) })),
        true
      )
    )
  );
}

function configOf(spec: ImageSpec, diffIds: string[]): Buffer {
  const history = spec.layers.map((_, i) => ({ created: FIXED_MTIME.toISOString(), created_by: spec.history?.[i] ?? `COPY layer-${i} /` }));
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: FIXED_MTIME.toISOString(),
      config: {
        Env: spec.env ?? ['PATH=/usr/local/bin:/usr/bin:/bin'],
        Cmd: spec.cmd ?? ['/bin/sh'],
        ...(spec.user !== undefined ? { User: spec.user } : {}),
        ...(spec.labels ? { Labels: spec.labels } : {})
      },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history
    })
  );
}

/** Writes a `docker save` style tarball. */
export async function writeDockerArchive(spec: ImageSpec, file: string, repoTag = 'secgate-test/image:1'): Promise<BuiltImage> {
  const layers = await layerTars(spec);
  const layerHex = layers.map((l) => sha256(l));
  const config = configOf(spec, layerHex.map((h) => `sha256:${h}`));
  const configHex = sha256(config);
  const manifest = Buffer.from(JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [repoTag], Layers: layerHex.map((h) => `${h}/layer.tar`) }]));
  const entries = [
    { name: `${configHex}.json`, data: config },
    ...layers.map((data, i) => ({ name: `${layerHex[i]}/layer.tar`, data })),
    { name: 'manifest.json', data: manifest }
  ];
  await writeFile(file, await tarOf(entries, false));
  return { file, format: 'docker-archive', configDigest: `sha256:${configHex}`, layerDigests: layerHex.map((h) => `sha256:${h}`) };
}

/** Writes an OCI image layout as a tar (`oci-archive`), uncompressed layers. */
export async function writeOciArchive(spec: ImageSpec, file: string, refName = '1'): Promise<BuiltImage> {
  const layers = await layerTars(spec);
  const layerHex = layers.map((l) => sha256(l));
  const config = configOf(spec, layerHex.map((h) => `sha256:${h}`));
  const configHex = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${configHex}`, size: config.length },
      layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerHex[i]}`, size: l.length }))
    })
  );
  const manifestHex = sha256(manifest);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${manifestHex}`, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': refName } }]
    })
  );
  const entries = [
    { name: 'oci-layout', data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { name: 'index.json', data: index },
    { name: `blobs/sha256/${manifestHex}`, data: manifest },
    { name: `blobs/sha256/${configHex}`, data: config },
    ...layers.map((data, i) => ({ name: `blobs/sha256/${layerHex[i]}`, data }))
  ];
  await writeFile(file, await tarOf(entries, false));
  return { file, format: 'oci-archive', configDigest: `sha256:${configHex}`, layerDigests: layerHex.map((h) => `sha256:${h}`), manifestDigest: `sha256:${manifestHex}` };
}

/** A Debian-like base layer: /etc/os-release and an empty dpkg status, so scanners detect the OS. */
export function debianBaseLayer(versionId = '12', codename = 'bookworm'): ImageFile[] {
  return [
    { path: 'etc/os-release', content: `PRETTY_NAME="Debian GNU/Linux ${versionId} (${codename})"\nNAME="Debian GNU/Linux"\nVERSION_ID="${versionId}"\nVERSION="${versionId} (${codename})"\nVERSION_CODENAME=${codename}\nID=debian\n` },
    { path: 'etc/debian_version', content: `${versionId}.0\n` },
    { path: 'var/lib/dpkg/status', content: '' }
  ];
}

/** Installed Python distributions (`*.dist-info/METADATA`) in site-packages, as pip leaves them. */
export function pythonPackagesLayer(packages: readonly { name: string; version: string }[], sitePackages = 'usr/local/lib/python3.11/site-packages'): ImageFile[] {
  return packages.flatMap(({ name, version }) => {
    const dir = `${sitePackages}/${name.replace(/-/g, '_')}-${version}.dist-info`;
    return [
      { path: `${dir}/METADATA`, content: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nSummary: ${name}\n` },
      { path: `${dir}/INSTALLER`, content: 'pip\n' },
      { path: `${dir}/RECORD`, content: '' }
    ];
  });
}
