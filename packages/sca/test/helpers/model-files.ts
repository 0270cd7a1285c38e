/**
 * Model files for the sca tests, generated at test time by make-model-files.py (never committed as
 * binaries, never loaded): malicious pickles whose __reduce__ calls os.system, the same payload in
 * a torch zip, a legacy torch file (payload in the 4th pickle), a joblib file, a numpy object
 * array and a .npz holding one; clean counterparts; and a corrupt file.
 */
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRaw } from '../../../../test/helpers/tool-processes.js';

const GENERATOR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'make-model-files.py');

export const MALICIOUS_FILES = ['malicious.pkl', 'malicious.joblib', 'malicious-zip.pt', 'malicious-legacy.pth', 'malicious-object.npy', 'malicious.npz'] as const;
export const CLEAN_FILES = ['clean.pkl', 'clean-zip.pt', 'clean-legacy.pth', 'clean-numeric.npy', 'clean.npz'] as const;
export const CORRUPT_FILE = 'corrupt.pkl';
/** What `pickle.dumps` records for os.system on Linux: the rule id both scanners report. */
export const PAYLOAD_OPERATOR = 'posix.system';

/** Writes every generated model file into `dir` (created if needed). */
export async function writeModelFiles(dir: string): Promise<void> {
  const run = await runRaw('python3', [GENERATOR, dir], path.dirname(GENERATOR));
  if (run.code !== 0) throw new Error(`make-model-files.py failed (${run.code}): ${run.stderr.slice(0, 500)}`);
}

/** A file with a Keras extension that is not HDF5: modelscan needs its tensorflow extra to open any `.h5`. */
export async function writeKerasStub(file: string): Promise<void> {
  await writeFile(file, 'not an HDF5 file');
}
