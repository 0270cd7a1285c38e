import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// The OASIS SARIF 2.1.0 (rtm.5) schema, as shipped in @microsoft/jest-sarif.
const require = createRequire(import.meta.url);
const schemaPath = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');

let validator: ((data: unknown) => boolean) & { errors?: unknown } | undefined;

/** Returns the schema violations of a SARIF log ([] when valid). */
export function sarifSchemaErrors(log: unknown): string[] {
  if (!validator) {
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
    // The schema is draft-04 (`id`, not `$id`): validate with Ajv's draft-04 build.
    const ajv = new Ajv04({ allErrors: true, strict: false, unicodeRegExp: false });
    (addFormats as unknown as (a: Ajv04) => void)(ajv);
    validator = ajv.compile(schema);
  }
  if (validator(log)) return [];
  return ((validator.errors as { instancePath: string; message?: string }[]) ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
