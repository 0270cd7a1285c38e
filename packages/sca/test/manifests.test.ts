import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoverPythonManifests, locateDeclaration, parseRequirement, readDeclarations } from '../src/manifests.js';

let ws: string;
const files: Record<string, string> = {
  'requirements.txt': '# top\n-r requirements/base.txt\nPyYAML[extra]==5.3.1 ; python_version >= "3.8"  # comment\ntorch>=2.0 \\\n  --hash=sha256:abc\n',
  'requirements/base.txt': 'numpy==1.21.0\nscikit_learn==0.23.0\n',
  'pyproject.toml': '[project]\nname = "demo"\ndependencies = [\n  "langchain==0.0.171",\n  "Jinja2>=2.10",\n]\n\n[tool.poetry.dependencies]\npython = "^3.10"\nPillow = "9.0.0"\n',
  'poetry.lock': '[[package]]\nname = "requests"\nversion = "2.25.1"\n\n[[package]]\nname = "urllib3"\nversion = "1.26.4"\n',
  'uv.lock': 'version = 1\n\n[[package]]\nname = "flask"\nversion = "2.2.2"\n',
  'Pipfile.lock': '{\n  "_meta": {},\n  "default": {\n    "werkzeug": {\n      "version": "==2.2.2"\n    }\n  },\n  "develop": {}\n}\n',
  'vendor/requirements.txt': 'gradio==3.50.0\n',
  'node_modules/x/requirements.txt': 'mlflow==2.9.2\n'
};

beforeAll(async () => {
  ws = await mkdtemp(path.join(os.tmpdir(), 'secgate-manifests-'));
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(ws, file)), { recursive: true });
    await writeFile(path.join(ws, file), text);
  }
});
afterAll(async () => rm(ws, { recursive: true, force: true }));

describe('manifests', () => {
  it('discovers Python manifests in scope, honouring exclude, skipping node_modules', async () => {
    const found = await discoverPythonManifests(ws, ['.'], ['vendor']);
    expect(found.map((m) => `${m.path}:${m.kind}`)).toEqual(['Pipfile.lock:pipfile-lock', 'poetry.lock:poetry-lock', 'pyproject.toml:pyproject', 'requirements.txt:requirements', 'requirements/base.txt:requirements', 'uv.lock:uv-lock']);
    await expect(discoverPythonManifests(ws, ['.'], [], ['setup.py'])).rejects.toThrow(/^manifests: 'setup.py' is not a Python manifest/);
    await expect(discoverPythonManifests(ws, ['.'], [], ['../etc/requirements.txt'])).rejects.toThrow(/outside the workspace/);
  });
  it('parses requirements with includes, extras, markers, continuations and hashes', () => {
    const decls = readDeclarations(ws, { path: 'requirements.txt', kind: 'requirements', ecosystem: 'PyPI' });
    expect(decls.map((d) => [d.name, d.version, d.path, d.line])).toEqual([
      ['numpy', '1.21.0', 'requirements/base.txt', 1],
      ['scikit-learn', '0.23.0', 'requirements/base.txt', 2],
      ['pyyaml', '5.3.1', 'requirements.txt', 3],
      ['torch', undefined, 'requirements.txt', 4]
    ]);
    expect(parseRequirement('foo @ https://x/y.whl')).toEqual({ name: 'foo' });
    expect(parseRequirement('torch===')).toBeUndefined();
  });
  it('reads pyproject (PEP 621 and poetry) and lock files with their lines', () => {
    const read = (p: string, kind: 'pyproject' | 'poetry-lock' | 'uv-lock' | 'pipfile-lock'): unknown[] => readDeclarations(ws, { path: p, kind, ecosystem: 'PyPI' }).map((d) => [d.name, d.version, d.line]);
    expect(read('pyproject.toml', 'pyproject')).toEqual([['langchain', '0.0.171', 4], ['jinja2', undefined, 5], ['pillow', '9.0.0', 10]]);
    expect(read('poetry.lock', 'poetry-lock')).toEqual([['requests', '2.25.1', 2], ['urllib3', '1.26.4', 6]]);
    expect(read('uv.lock', 'uv-lock')).toEqual([['flask', '2.2.2', 4]]);
    expect(read('Pipfile.lock', 'pipfile-lock')).toEqual([['werkzeug', '2.2.2', 4]]);
  });
  it('locates the declaring line by normalised name', () => {
    expect(locateDeclaration(ws, ['requirements.txt'], 'PyPI', 'pyyaml')).toEqual({ path: 'requirements.txt', startLine: 3, endLine: 3 });
    expect(locateDeclaration(ws, ['requirements.txt'], 'PyPI', 'Scikit.Learn')).toEqual({ path: 'requirements/base.txt', startLine: 2, endLine: 2 });
    expect(locateDeclaration(ws, ['poetry.lock', 'pyproject.toml'], 'PyPI', 'PILLOW')).toEqual({ path: 'pyproject.toml', startLine: 10, endLine: 10 });
    expect(locateDeclaration(ws, ['uv.lock'], 'PyPI', 'not-there')).toEqual({ path: 'uv.lock' });
    expect(locateDeclaration(ws, [], 'PyPI', 'x')).toBeUndefined();
  });
  it('names the file and line of an unparsable manifest', async () => {
    await writeFile(path.join(ws, 'requirements-bad.txt'), 'numpy==1\n!!!\n');
    expect(() => readDeclarations(ws, { path: 'requirements-bad.txt', kind: 'requirements', ecosystem: 'PyPI' }, 'pip-audit')).toThrow(/^pip-audit: requirements-bad.txt:2: not a requirement/);
    await mkdir(path.join(ws, 'bad'), { recursive: true });
    await writeFile(path.join(ws, 'bad', 'pyproject.toml'), '[project\n');
    expect(() => readDeclarations(ws, { path: 'bad/pyproject.toml', kind: 'pyproject', ecosystem: 'PyPI' }, 'pip-audit')).toThrow(/^pip-audit: bad\/pyproject.toml(:\d+)?: not valid TOML$/);
  });
});
