/**
 * Reads a container image tarball without a Docker daemon: a docker-archive (`docker save`) or an
 * OCI image layout in a tar (`skopeo copy … oci-archive:`), optionally gzip-compressed as a whole.
 *
 * What it gives: the manifest digest (what Clair and registries identify an image by), the config
 * (Env, User, history, diff_ids), the layers (digest, media type, size) and RepoTags; and a way to
 * stream one layer blob by digest (the container stage serves layers to Clair that way).
 *
 * Memory stays bounded: the tar is read as a stream, layers are hashed as they pass and never held;
 * only the small JSON documents (manifest, index, config; at most MAX_JSON_BYTES each) are kept.
 * The tar is read again (from the start, stopping early) for a JSON blob found late and for each
 * layer served, rather than spooled anywhere.
 *
 * Strict: a tar that is neither format, a missing blob, a blob whose content does not match its
 * digest (or the config's diff_ids), an entry name that climbs out of the archive (`../x`, `/etc/x`)
 * or a duplicate name is a ConfigurationError naming `image-tar`, never a partial image.
 *
 * docker-archive has no registry manifest, so one is synthesised deterministically (see
 * `synthesiseManifest`): an OCI image manifest (schemaVersion 2) whose config descriptor is the
 * config file's digest and size and whose layers are the layer files' digests, sizes and media
 * types, in order, serialised by JSON.stringify with keys in the OCI spec's order. The same
 * docker-archive gives the same digest on every run (so Clair reuses its index), and the OCI
 * archive of the same image built by test/helpers/image-tar.ts has that very digest. It is not the
 * digest a registry would show after `docker push` (which compresses the layers).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { ConfigurationError, ReportReader, ToolOutputError } from '@secgate/core';

export const IMAGE_TAR_KEY = 'image-tar';

/** Largest JSON document read from an image (manifest.json, index.json, a manifest or config blob). */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;
/** More entries than this in the outer tar is not an image archive. */
export const MAX_ARCHIVE_ENTRIES = 100_000;
/** Symlink hops followed inside the archive (old `docker save` links identical layer.tar files). */
const MAX_LINK_HOPS = 8;

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** Layer media types, as Clair's Manifest accepts them (`application/vnd.oci.image.layer.v1.tar(+gzip|+zstd)`). */
export type LayerMediaType = 'application/vnd.oci.image.layer.v1.tar' | 'application/vnd.oci.image.layer.v1.tar+gzip' | 'application/vnd.oci.image.layer.v1.tar+zstd';

/** Layer media types a manifest may name → the OCI form. Nondistributable/foreign layers are not in a tarball. */
const LAYER_MEDIA_TYPES: Readonly<Record<string, LayerMediaType>> = {
  'application/vnd.oci.image.layer.v1.tar': 'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.zstd': 'application/vnd.oci.image.layer.v1.tar+zstd'
};

export interface ImageLayer {
  /** `sha256:<hex>` of the layer blob as stored (what Clair fetches and checks). */
  digest: string;
  mediaType: LayerMediaType;
  size: number;
  /** The config's rootfs.diff_ids entry for this layer (digest of the uncompressed tar). */
  diffId: string;
}

export interface ImageHistoryEntry {
  createdBy: string;
  emptyLayer: boolean;
}

export interface ImageConfig {
  env: string[];
  user?: string;
  os?: string;
  architecture?: string;
  history: ImageHistoryEntry[];
  diffIds: string[];
}

export interface ImageArchive {
  /** Absolute path of the tarball. */
  file: string;
  format: 'docker-archive' | 'oci-archive';
  /** `sha256:<hex>` of the image manifest: the archive's own (OCI) or the synthesised one (docker-archive). */
  manifestDigest: string;
  /** True for docker-archive: the manifest digest is of `synthesiseManifest`'s document. */
  manifestSynthesised: boolean;
  configDigest: string;
  layers: ImageLayer[];
  /** docker-archive RepoTags, or the OCI index's `org.opencontainers.image.ref.name`. */
  repoTags: string[];
  config: ImageConfig;
  /** Archive entry holding each blob, by digest (private to blob streaming). */
  readonly blobEntries: ReadonlyMap<string, string>;
  /** Whole-tar gzip (a `docker save | gzip`). */
  readonly gzipped: boolean;
}

interface EntryInfo {
  type: 'file' | 'symlink' | 'link';
  size: number;
  sha256?: string;
  /** First bytes of a file (compression sniffing). */
  head?: Buffer;
  linkname?: string;
}

const SHA256_DIGEST = /^sha256:([a-f0-9]{64})$/;
const BLOB_NAME = /^blobs\/sha256\/([a-f0-9]{64})$/;

function imageError(file: string, problem: string): ConfigurationError {
  return new ConfigurationError(`${path.basename(file)}: ${problem}`, IMAGE_TAR_KEY);
}

/** The archive-relative form of a tar entry name, or a reason it cannot be one. */
export function archiveEntryName(raw: string): { name: string } | { problem: string } {
  if (raw.includes('\u0000')) return { problem: 'holds a NUL character' };
  if (raw.includes('\\')) return { problem: 'holds a backslash' };
  if (raw.startsWith('/')) return { problem: 'is an absolute path' };
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) return { problem: 'climbs out of the archive (..)' };
  return { name: parts.join('/') };
}

const isGzip = (head: Buffer | undefined): boolean => head !== undefined && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
const isZstd = (head: Buffer | undefined): boolean => head !== undefined && head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528;

async function sniffGzip(file: string): Promise<boolean> {
  const stream = createReadStream(file, { start: 0, end: 1 });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return isGzip(Buffer.concat(chunks));
}

/** One entry's content stream (tar-stream does not export its name). */
type TarEntry = tarStream.Extract extends AsyncIterable<infer Source> ? Source : never;

type Visit = (name: string, header: tarStream.Header, entry: TarEntry) => Promise<'stop' | void>;

/**
 * Walks the tar's entries in order; `visit` must consume (or leave: it is drained) each entry's
 * content. Returns early when `visit` says 'stop'. A stream that is not a tar is an error naming the file.
 */
async function walkTar(file: string, gzipped: boolean, visit: Visit): Promise<void> {
  const input = createReadStream(file);
  const extract = tarStream.extract();
  const source = gzipped ? input.pipe(createGunzip()) : input;
  source.on('error', (error: Error) => extract.destroy(error));
  source.pipe(extract);
  let count = 0;
  try {
    for await (const entry of extract) {
      count += 1;
      if (count > MAX_ARCHIVE_ENTRIES) throw imageError(file, `has more than ${MAX_ARCHIVE_ENTRIES} entries: not an image archive`);
      const checked = archiveEntryName(entry.header.name);
      if ('problem' in checked) throw imageError(file, `entry ${JSON.stringify(entry.header.name.slice(0, 120))} ${checked.problem}`);
      const verdict = await visit(checked.name, entry.header, entry);
      entry.resume();
      if (verdict === 'stop') break;
    }
  } catch (error) {
    if (error instanceof ConfigurationError || error instanceof ToolOutputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') throw imageError(file, 'is gzip-compressed but the compressed data is corrupt or truncated');
    throw imageError(file, `is not a readable tar archive (${(error as Error).message.split('\n')[0]!.slice(0, 160)})`);
  } finally {
    input.destroy();
    extract.destroy();
  }
}

async function readAll(entry: TarEntry, limit: number, file: string, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry) {
    size += (chunk as Buffer).length;
    if (size > limit) throw imageError(file, `${name} is larger than ${limit} bytes: not an image document`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Root-level documents kept in the first pass (configs of docker-archive are `<hex>.json` at the root). */
const keepInFirstPass = (name: string): boolean => !name.includes('/') && (name.endsWith('.json') || name === 'oci-layout' || name === 'repositories');

interface ArchiveIndex {
  entries: Map<string, EntryInfo>;
  documents: Map<string, Buffer>;
}

async function indexArchive(file: string, gzipped: boolean): Promise<ArchiveIndex> {
  const entries = new Map<string, EntryInfo>();
  const documents = new Map<string, Buffer>();
  let kept = 0;
  await walkTar(file, gzipped, async (name, header, entry) => {
    const type = header.type ?? 'file';
    if (type === 'directory') return;
    if (entries.has(name)) throw imageError(file, `names ${JSON.stringify(name.slice(0, 120))} twice: the archive is ambiguous`);
    if (type === 'symlink' || type === 'link') {
      entries.set(name, { type, size: 0, linkname: header.linkname ?? '' });
      return;
    }
    if (type !== 'file' && type !== 'contiguous-file') throw imageError(file, `entry ${JSON.stringify(name.slice(0, 120))} is a ${type}, not a file: not an image archive`);
    const hash = createHash('sha256');
    const heads: Buffer[] = [];
    let headBytes = 0;
    let size = 0;
    const keep = keepInFirstPass(name);
    const chunks: Buffer[] = [];
    for await (const chunk of entry) {
      const data = chunk as Buffer;
      hash.update(data);
      size += data.length;
      if (headBytes < 8) {
        const part = data.subarray(0, 8 - headBytes);
        heads.push(part);
        headBytes += part.length;
      }
      if (keep) {
        if (size > MAX_JSON_BYTES) throw imageError(file, `${name} is larger than ${MAX_JSON_BYTES} bytes: not an image document`);
        chunks.push(data);
      }
    }
    entries.set(name, { type: 'file', size, sha256: hash.digest('hex'), head: Buffer.concat(heads) });
    if (keep) {
      kept += size;
      if (kept > 4 * MAX_JSON_BYTES) throw imageError(file, `holds more than ${4 * MAX_JSON_BYTES} bytes of root-level documents: not an image archive`);
      documents.set(name, Buffer.concat(chunks));
    }
  });
  return { entries, documents };
}

/** The regular file an entry name leads to, following symlinks and hard links inside the archive. */
function resolveEntry(file: string, entries: ReadonlyMap<string, EntryInfo>, name: string, what: string): { name: string; info: EntryInfo } {
  let current = name;
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    const info = entries.get(current);
    if (!info) throw imageError(file, `${what} ${JSON.stringify(name.slice(0, 120))} is missing from the archive`);
    if (info.type === 'file') return { name: current, info };
    // Symlink targets are relative to the link's folder; hard link targets to the archive root.
    const target = info.type === 'symlink' && !info.linkname!.startsWith('/') ? path.posix.join(path.posix.dirname(current), info.linkname!) : info.linkname!;
    const checked = archiveEntryName(target);
    if ('problem' in checked) throw imageError(file, `${what} ${JSON.stringify(name.slice(0, 120))} links to ${JSON.stringify(info.linkname!.slice(0, 120))}, which ${checked.problem}`);
    current = checked.name;
  }
  throw imageError(file, `${what} ${JSON.stringify(name.slice(0, 120))} is a chain of more than ${MAX_LINK_HOPS} links`);
}

/** Reads named entries' content (JSON documents not kept in the first pass); stops once all are read. */
async function readEntries(file: string, gzipped: boolean, names: readonly string[]): Promise<Map<string, Buffer>> {
  const wanted = new Set(names);
  const found = new Map<string, Buffer>();
  if (wanted.size === 0) return found;
  await walkTar(file, gzipped, async (name, _header, entry) => {
    if (!wanted.has(name)) return;
    found.set(name, await readAll(entry, MAX_JSON_BYTES, file, name));
    return found.size === wanted.size ? 'stop' : undefined;
  });
  return found;
}

/** Fields of the archive's JSON documents are read strictly; problems become ConfigurationErrors naming the file. */
const reader: ReportReader = new ReportReader(IMAGE_TAR_KEY);

function parseDocument(file: string, name: string, data: Buffer): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    throw imageError(file, `${name} is not JSON`);
  }
}

function withImageErrors<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ToolOutputError) throw imageError(file, error.detail);
    throw error;
  }
}

function readDigest(value: unknown, where: string): string {
  const text = reader.string(value, where);
  if (!SHA256_DIGEST.test(text)) reader.fail(where, `is ${JSON.stringify(text.slice(0, 80))}, expected a sha256:<64 hex> digest`);
  return text;
}

function readConfig(value: unknown, where: string): ImageConfig {
  const document = reader.object(value, where);
  const rootfs = reader.object(document['rootfs'], `${where}.rootfs`);
  const diffIds = reader.each(rootfs['diff_ids'], `${where}.rootfs.diff_ids`, (id, at) => readDigest(id, at));
  const inner = document['config'] === undefined || document['config'] === null ? {} : reader.object(document['config'], `${where}.config`);
  const env = inner['Env'] === undefined || inner['Env'] === null ? [] : reader.each(inner['Env'], `${where}.config.Env`, (e, at) => reader.string(e, at));
  const user = inner['User'] === undefined || inner['User'] === '' ? undefined : reader.string(inner['User'], `${where}.config.User`);
  const history =
    document['history'] === undefined || document['history'] === null
      ? []
      : reader.each(document['history'], `${where}.history`, (h, at) => {
          const entry = reader.object(h, at);
          const emptyLayer = entry['empty_layer'];
          if (emptyLayer !== undefined && typeof emptyLayer !== 'boolean') reader.fail(`${at}.empty_layer`, 'is not a boolean');
          return { createdBy: reader.optionalString(entry['created_by'], `${at}.created_by`) ?? '', emptyLayer: emptyLayer === true };
        });
  return {
    env,
    ...(user !== undefined ? { user } : {}),
    ...(typeof document['os'] === 'string' ? { os: document['os'] } : {}),
    ...(typeof document['architecture'] === 'string' ? { architecture: document['architecture'] } : {}),
    history,
    diffIds
  };
}

/**
 * The OCI image manifest secgate synthesises for a docker-archive (documented at the top of this
 * file): same layout and key order as an OCI archive's manifest, so the digest is reproducible.
 */
export function synthesiseManifest(config: { digest: string; size: number }, layers: readonly { digest: string; mediaType: string; size: number }[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
      layers: layers.map((layer) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }))
    })
  );
}

function sniffedMediaType(info: EntryInfo): LayerMediaType {
  if (isGzip(info.head)) return 'application/vnd.oci.image.layer.v1.tar+gzip';
  if (isZstd(info.head)) return 'application/vnd.oci.image.layer.v1.tar+zstd';
  return 'application/vnd.oci.image.layer.v1.tar';
}

async function readDockerArchive(file: string, gzipped: boolean, index: ArchiveIndex): Promise<ImageArchive> {
  const manifestJson = parseDocument(file, 'manifest.json', index.documents.get('manifest.json')!);
  const { configName, layerNames, repoTags } = withImageErrors(file, () => {
    const images = reader.array(manifestJson, 'manifest.json');
    if (images.length !== 1) reader.fail('manifest.json', `lists ${images.length} images; secgate reads an archive of exactly one (docker save <one image>)`);
    const image = reader.object(images[0], 'manifest.json[0]');
    return {
      configName: reader.path(image['Config'], 'manifest.json[0].Config'),
      layerNames: reader.each(image['Layers'], 'manifest.json[0].Layers', (l, at) => reader.path(l, at)),
      repoTags: image['RepoTags'] === undefined || image['RepoTags'] === null ? [] : reader.each(image['RepoTags'], 'manifest.json[0].RepoTags', (t, at) => reader.word(t, at))
    };
  });
  if (layerNames.length === 0) throw imageError(file, 'manifest.json lists no layers');
  const configEntry = resolveEntry(file, index.entries, archiveName(file, configName, 'manifest.json[0].Config'), 'the config');
  const configData = index.documents.get(configEntry.name) ?? (await readEntries(file, gzipped, [configEntry.name])).get(configEntry.name);
  if (!configData) throw imageError(file, `the config ${configEntry.name} could not be read`);
  // The config's name is its digest (`<hex>.json`, or `blobs/sha256/<hex>` since Docker 25).
  const namedHex = /^([a-f0-9]{64})\.json$/.exec(configEntry.name)?.[1] ?? BLOB_NAME.exec(configEntry.name)?.[1];
  if (namedHex !== undefined && namedHex !== configEntry.info.sha256) {
    throw imageError(file, `the config ${configEntry.name} does not match its digest (content is sha256:${configEntry.info.sha256})`);
  }
  const config = withImageErrors(file, () => readConfig(parseDocument(file, configEntry.name, configData), configEntry.name));
  if (config.diffIds.length !== layerNames.length) {
    throw imageError(file, `manifest.json lists ${layerNames.length} layers but the config's rootfs.diff_ids has ${config.diffIds.length}`);
  }
  const blobEntries = new Map<string, string>();
  const layers = layerNames.map((layerName, i): ImageLayer => {
    const resolved = resolveEntry(file, index.entries, archiveName(file, layerName, `manifest.json[0].Layers[${i}]`), `layer ${i + 1}`);
    const digest = `sha256:${resolved.info.sha256!}`;
    const mediaType = sniffedMediaType(resolved.info);
    // An uncompressed layer's digest is its diff_id: anything else is a corrupt or mixed-up archive.
    if (mediaType === 'application/vnd.oci.image.layer.v1.tar' && digest !== config.diffIds[i]) {
      throw imageError(file, `layer ${i + 1} (${resolved.name}) is ${digest}, but the config's rootfs.diff_ids[${i}] says ${config.diffIds[i]}: digest mismatch`);
    }
    const blobHex = BLOB_NAME.exec(resolved.name)?.[1];
    if (blobHex !== undefined && blobHex !== resolved.info.sha256) throw imageError(file, `blob ${resolved.name} does not match its digest (content is ${digest})`);
    blobEntries.set(digest, resolved.name);
    return { digest, mediaType, size: resolved.info.size, diffId: config.diffIds[i]! };
  });
  const configDigest = `sha256:${configEntry.info.sha256!}`;
  const manifest = synthesiseManifest({ digest: configDigest, size: configEntry.info.size }, layers);
  return {
    file,
    format: 'docker-archive',
    manifestDigest: `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
    manifestSynthesised: true,
    configDigest,
    layers,
    repoTags,
    config,
    blobEntries,
    gzipped
  };
}

function archiveName(file: string, raw: string, where: string): string {
  const checked = archiveEntryName(raw);
  if ('problem' in checked) throw imageError(file, `${where} ${JSON.stringify(raw.slice(0, 120))} ${checked.problem}`);
  return checked.name;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

function readDescriptor(value: unknown, where: string): Descriptor {
  const descriptor = reader.object(value, where);
  return {
    mediaType: reader.word(descriptor['mediaType'], `${where}.mediaType`),
    digest: readDigest(descriptor['digest'], `${where}.digest`),
    size: reader.integer(descriptor['size'], `${where}.size`, 0)
  };
}

/** The blob entry of a descriptor: present, a regular file (links followed), of the stated size. */
function blobOf(file: string, index: ArchiveIndex, descriptor: Descriptor, what: string): { name: string; info: EntryInfo } {
  const hex = SHA256_DIGEST.exec(descriptor.digest)![1]!;
  const name = `blobs/sha256/${hex}`;
  if (!index.entries.has(name)) throw imageError(file, `${what} ${descriptor.digest} is missing from the archive (no ${name})`);
  const resolved = resolveEntry(file, index.entries, name, what);
  if (resolved.info.sha256 !== hex) throw imageError(file, `${what} ${name} does not match its digest (content is sha256:${resolved.info.sha256})`);
  if (resolved.info.size !== descriptor.size) throw imageError(file, `${what} ${descriptor.digest} is ${resolved.info.size} bytes, but its descriptor says ${descriptor.size}: digest mismatch`);
  return resolved;
}

async function readOciArchive(file: string, gzipped: boolean, index: ArchiveIndex): Promise<ImageArchive> {
  const layout = withImageErrors(file, () => reader.object(parseDocument(file, 'oci-layout', index.documents.get('oci-layout')!), 'oci-layout'));
  if (layout['imageLayoutVersion'] !== '1.0.0') throw imageError(file, `oci-layout imageLayoutVersion is ${JSON.stringify(layout['imageLayoutVersion'])}, expected "1.0.0"`);
  // Every blob must match the digest it is filed under, referenced or not: a corrupt archive is refused whole.
  for (const [name, info] of index.entries) {
    const hex = BLOB_NAME.exec(name)?.[1];
    if (hex !== undefined && info.type === 'file' && info.sha256 !== hex) throw imageError(file, `blob ${name} does not match its digest (content is sha256:${info.sha256}): digest mismatch`);
  }
  const { manifestDescriptor, repoTags } = withImageErrors(file, () => {
    const ociIndex = reader.object(parseDocument(file, 'index.json', index.documents.get('index.json')!), 'index.json');
    const manifests = reader.each(ociIndex['manifests'], 'index.json.manifests', (m, at) => ({ descriptor: readDescriptor(m, at), annotations: reader.object(reader.object(m, at)['annotations'] ?? {}, `${at}.annotations`) }));
    if (manifests.length !== 1) reader.fail('index.json.manifests', `lists ${manifests.length} images; secgate reads an archive of exactly one image`);
    const only = manifests[0]!;
    if (only.descriptor.mediaType === OCI_INDEX || only.descriptor.mediaType === DOCKER_MANIFEST_LIST) {
      reader.fail('index.json.manifests[0]', 'is a multi-platform image index; copy one platform (skopeo copy --override-arch …) into the archive');
    }
    if (only.descriptor.mediaType !== OCI_MANIFEST && only.descriptor.mediaType !== DOCKER_MANIFEST) {
      reader.fail('index.json.manifests[0].mediaType', `is ${JSON.stringify(only.descriptor.mediaType.slice(0, 80))}, expected ${OCI_MANIFEST}`);
    }
    const refName = only.annotations['org.opencontainers.image.ref.name'];
    return { manifestDescriptor: only.descriptor, repoTags: refName === undefined ? [] : [reader.word(refName, 'index.json.manifests[0].annotations["org.opencontainers.image.ref.name"]')] };
  });
  const manifestBlob = blobOf(file, index, manifestDescriptor, 'the image manifest');
  const manifestData = (await readEntries(file, gzipped, [manifestBlob.name])).get(manifestBlob.name);
  if (!manifestData) throw imageError(file, `the image manifest ${manifestBlob.name} could not be read`);
  const { configDescriptor, layerDescriptors } = withImageErrors(file, () => {
    const manifest = reader.object(parseDocument(file, manifestBlob.name, manifestData), 'image manifest');
    if (manifest['schemaVersion'] !== 2) reader.fail('image manifest.schemaVersion', 'is not 2');
    return {
      configDescriptor: readDescriptor(manifest['config'], 'image manifest.config'),
      layerDescriptors: reader.each(manifest['layers'], 'image manifest.layers', (l, at) => readDescriptor(l, at))
    };
  });
  if (layerDescriptors.length === 0) throw imageError(file, 'the image manifest lists no layers');
  const configBlob = blobOf(file, index, configDescriptor, 'the image config');
  const configData = (await readEntries(file, gzipped, [configBlob.name])).get(configBlob.name);
  if (!configData) throw imageError(file, `the image config ${configBlob.name} could not be read`);
  const config = withImageErrors(file, () => readConfig(parseDocument(file, configBlob.name, configData), 'image config'));
  if (config.diffIds.length !== layerDescriptors.length) {
    throw imageError(file, `the image manifest lists ${layerDescriptors.length} layers but the config's rootfs.diff_ids has ${config.diffIds.length}`);
  }
  const blobEntries = new Map<string, string>();
  const layers = layerDescriptors.map((descriptor, i): ImageLayer => {
    const mediaType = LAYER_MEDIA_TYPES[descriptor.mediaType];
    if (!mediaType) throw imageError(file, `layer ${i + 1} has media type ${JSON.stringify(descriptor.mediaType.slice(0, 100))}, which is not a layer that can be in an archive (expected one of ${Object.keys(LAYER_MEDIA_TYPES).join(', ')})`);
    const blob = blobOf(file, index, descriptor, `layer ${i + 1}`);
    if (mediaType === 'application/vnd.oci.image.layer.v1.tar' && descriptor.digest !== config.diffIds[i]) {
      throw imageError(file, `layer ${i + 1} is ${descriptor.digest}, but the config's rootfs.diff_ids[${i}] says ${config.diffIds[i]}: digest mismatch`);
    }
    blobEntries.set(descriptor.digest, blob.name);
    return { digest: descriptor.digest, mediaType, size: descriptor.size, diffId: config.diffIds[i]! };
  });
  return {
    file,
    format: 'oci-archive',
    manifestDigest: manifestDescriptor.digest,
    manifestSynthesised: false,
    configDigest: configDescriptor.digest,
    layers,
    repoTags,
    config,
    blobEntries,
    gzipped
  };
}

/** Reads an image tarball's structure (see the top of this file). Errors are ConfigurationErrors naming `image-tar`. */
export async function readImageArchive(file: string): Promise<ImageArchive> {
  const absolute = path.resolve(file);
  let info;
  try {
    info = await stat(absolute);
  } catch (error) {
    throw imageError(absolute, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!info.isFile()) throw imageError(absolute, 'is not a regular file');
  const gzipped = await sniffGzip(absolute);
  const index = await indexArchive(absolute, gzipped);
  if (index.documents.has('oci-layout') && index.documents.has('index.json')) return readOciArchive(absolute, gzipped, index);
  if (index.documents.has('manifest.json')) return readDockerArchive(absolute, gzipped, index);
  throw imageError(absolute, 'is neither a docker-archive (docker save: manifest.json) nor an OCI image layout (oci-layout and index.json)');
}

/**
 * Streams one layer blob of the archive into `sink` (e.g. an HTTP response), honouring its
 * back-pressure, and checks the bytes against the digest as they pass. A blob that is not in the
 * image, or whose content no longer matches (the file changed since it was read), rejects; the
 * sink is then left for the caller to destroy, so a reader never takes a short blob as whole.
 */
export async function streamLayer(archive: ImageArchive, digest: string, sink: Writable): Promise<number> {
  const entryName = archive.blobEntries.get(digest);
  if (entryName === undefined) throw imageError(archive.file, `has no layer ${digest}`);
  const hash = createHash('sha256');
  let size = 0;
  let found = false;
  await walkTar(archive.file, archive.gzipped, async (name, _header, entry) => {
    if (name !== entryName) return;
    found = true;
    for await (const chunk of entry) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (!sink.write(chunk)) await Promise.race([once(sink, 'drain'), once(sink, 'close')]);
      if (sink.destroyed) throw new Error('the receiver closed the connection');
    }
    return 'stop';
  });
  if (!found) throw imageError(archive.file, `layer ${digest} (${entryName}) is no longer in the archive`);
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== digest) throw imageError(archive.file, `layer ${entryName} changed since it was read: it is now ${actual}, expected ${digest}`);
  return size;
}
