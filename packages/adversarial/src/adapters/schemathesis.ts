import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import {
  ConfigurationError,
  ReportReader,
  ToolFailureError,
  ToolIncompleteError,
  ToolOutputError,
  parseJsonReport,
  type ExitMeaning,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter,
  type ToolContext,
  type ToolInvocation,
  type UncheckedItem
} from '@secgate/core';
import {
  TARGET_API_KEY_ENV,
  apiKeyEnv,
  assertKeyOnlyInApiKey,
  displayUrl,
  readApiKey,
  readConcurrency,
  readMaxQueries,
  readMode,
  readProfile,
  readRateLimit,
  readSeed,
  readTarget,
  workspaceFile,
  workspaceRelative,
  type ApiKey
} from '../options.js';

/**
 * schemathesis 4.x: property-based tests of an API against its OpenAPI schema (`mode: api`).
 * https://schemathesis.readthedocs.io
 *
 * Severity: schemathesis rates each failure (`core/failures.py`); ours follows it one step lower
 * at the top, since a 5xx on a staging endpoint is a robustness bug, not by itself an exploit:
 *
 * | schemathesis | secgate | e.g. |
 * |---|---|---|
 * | critical | high | ST101 Server error (5xx) |
 * | high | high | |
 * | medium | medium | response violates schema, undocumented status code or Content-Type |
 * | low | low | response time limit exceeded |
 *
 * Any other word is a ToolOutputError, never a default.
 */
export const SCHEMATHESIS_SEVERITY: Readonly<Record<string, Severity>> = {
  CRITICAL: 'high',
  HIGH: 'high',
  MEDIUM: 'medium',
  LOW: 'low'
};

export const SCHEMATHESIS_VERSION = '4.32.5';
const TOOL = 'schemathesis';
const reader = new ReportReader(TOOL);

/** What every run checks; `negative_data_rejection` is left out: noisy on ML endpoints. */
export const SCHEMATHESIS_CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance'];

/** Test cases per operation and phase (`--max-examples`), and the default request budget, by profile. */
export const SCHEMATHESIS_PROFILE = {
  fast: { maxExamples: 25, maxQueries: 2_000 },
  deep: { maxExamples: 200, maxQueries: 20_000 }
} as const;

/** Seconds a request may take before it counts as a network error; each is retried twice (`--request-retries 2`). */
const REQUEST_TIMEOUT_S = 10;
/** Failures after which schemathesis stops: enough to show a pattern, bounded on a broken API. */
const MAX_FAILURES = 50;

/** The variable that carries `max-queries` to the budget hook. */
const BUDGET_ENV = 'SECGATE_SCHEMATHESIS_MAX_REQUESTS';
/** Marker in the hook's error: how the parser tells "budget reached" from other hook errors. */
const BUDGET_MARK = 'secgate: request budget of';

/**
 * schemathesis has no request cap of its own: this hook (loaded through SCHEMATHESIS_HOOKS) counts
 * every test request before it is sent and refuses the ones past the budget, so `max-queries`
 * holds exactly. Network-level retries (`--request-retries`) and the two capability probes at start
 * happen below the hook and are not counted.
 */
const BUDGET_HOOK = `import os
import threading

import schemathesis

LIMIT = int(os.environ["${BUDGET_ENV}"])
_lock = threading.Lock()
_sent = 0


@schemathesis.hook
def before_call(context, case, **kwargs):
    global _sent
    with _lock:
        if _sent >= LIMIT:
            raise RuntimeError(f"${BUDGET_MARK} {LIMIT} requests reached")
        _sent += 1
`;

/** `openapi`: a workspace file (absolute path and workspace-relative path) or an http(s) URL. */
export type OpenApiSource = { kind: 'file'; absolute: string; relative: string } | { kind: 'url'; url: URL };

export async function readOpenApi(context: Pick<ToolContext, 'workspace' | 'options'>): Promise<OpenApiSource> {
  const input = (context.options['openapi'] ?? '').trim();
  if (input === '') throw new ConfigurationError('is required in mode api: the OpenAPI schema, a workspace file (.json, .yaml) or an http(s) URL', 'openapi');
  if (/^https?:\/\//i.test(input)) {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new ConfigurationError('is not a URL', 'openapi');
    }
    if (url.username || url.password) throw new ConfigurationError(`'${displayUrl(url)}' must not carry credentials: pass the key in api-key`, 'openapi');
    return { kind: 'url', url };
  }
  const absolute = await workspaceFile(context, 'openapi', input, ['.json', '.yaml', '.yml']);
  return { kind: 'file', absolute, relative: workspaceRelative(context.workspace, absolute) };
}

/** TOML basic string: JSON's escapes are TOML's for everything we write (paths, header names). */
function tomlString(text: string): string {
  return JSON.stringify(text);
}

/**
 * The schemathesis config: the key header as a `${VAR}` reference (schemathesis resolves it from
 * the environment, so the key is never on disk or in argv) and the crash cache in the work dir
 * (by default it writes `.schemathesis/` into the current directory, the workspace).
 */
export function schemathesisConfig(apiKey: ApiKey | undefined, cacheDir: string): string {
  const lines: string[] = [];
  if (apiKey) lines.push(`headers = { ${tomlString(apiKey.header)} = ${tomlString(`${apiKey.bearer ? 'Bearer ' : ''}\${${TARGET_API_KEY_ENV}}`)} }`);
  lines.push('', '[cache]', `directory = ${tomlString(cacheDir)}`, '');
  return lines.join('\n');
}

/** `--rate-limit` wants `<n>/<unit>` with a whole n: fractions of a request per second become per minute. */
export function rateLimitArg(perSecond: number): string {
  return Number.isInteger(perSecond) ? `${perSecond}/s` : `${Math.max(1, Math.round(perSecond * 60))}/m`;
}

/** Line (1-based) of each operation (`POST /predict`) in an OpenAPI file, JSON or YAML. */
export function operationLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const counter = new LineCounter();
  const document = parseDocument(text, { lineCounter: counter, uniqueKeys: false });
  if (document.errors.length > 0 || !isMap(document.contents)) return lines;
  const paths = document.contents.get('paths', true);
  if (!isMap(paths)) return lines;
  for (const pathPair of paths.items) {
    if (!isScalar(pathPair.key) || typeof pathPair.key.value !== 'string' || !isMap(pathPair.value)) continue;
    for (const methodPair of pathPair.value.items) {
      if (!isScalar(methodPair.key) || typeof methodPair.key.value !== 'string' || !methodPair.key.range) continue;
      lines.set(`${methodPair.key.value.toUpperCase()} ${pathPair.key.value}`, counter.linePos(methodPair.key.range[0]).line);
    }
  }
  return lines;
}

/** What `command` hands to `parse` (invocation.data). `exit` is filled in by `exitMeaning`. */
// A type, not an interface: ToolInvocation.data is a Record, which interfaces are not assignable to.
type RunData = {
  schemaFile?: string;
  lines: Record<string, number>;
  maxQueries: number;
  exit: { code?: number };
};

function runData(invocation: ToolInvocation): RunData {
  const data = invocation.data as RunData | undefined;
  if (!data || typeof data.maxQueries !== 'number') throw new ToolOutputError(TOOL, 'the invocation carries no run data (parse called without command)');
  return data;
}

// ---------------------------------------------------------------------------------------------
// Report (NDJSON event stream, `--report ndjson`)

/** Replaces the key (and `Bearer <key>`) wherever it appears; short keys are left (they would match ordinary text). */
export function redactKey(text: string, key: string | undefined): string {
  return key && key.length >= 4 ? text.split(key).join('[REDACTED]') : text;
}

/** Header names whose values are credentials whatever the key: never shown. */
const SENSITIVE_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key)$|token|secret|password|key/i;

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Longest body shown in a reproducing request. */
const MAX_BODY_CHARS = 2_000;

interface RecordedRequest {
  method: string;
  uri: string;
  headers: [string, string][];
  body?: string;
}

function readRequest(value: unknown, where: string): RecordedRequest {
  const r = reader.object(value, where);
  const headersField = reader.object(r['headers'], `${where}.headers`);
  const headers: [string, string][] = [];
  for (const [name, values] of Object.entries(headersField)) {
    for (const [index, item] of reader.array(values, `${where}.headers.${name}`).entries()) headers.push([name, reader.string(item, `${where}.headers.${name}[${index}]`)]);
  }
  let body: string | undefined;
  if (r['body'] !== undefined && r['body'] !== null) {
    const b = reader.object(r['body'], `${where}.body`);
    if (b['$base64'] !== undefined) body = Buffer.from(reader.string(b['$base64'], `${where}.body.$base64`), 'base64').toString('utf8');
    else body = reader.string(b['string'], `${where}.body.string`);
  }
  return { method: reader.word(r['method'], `${where}.method`), uri: reader.word(r['uri'], `${where}.uri`), headers, ...(body !== undefined ? { body } : {}) };
}

/** A curl command that replays the request, the key header and any credential-looking header replaced. */
export function reproducingCurl(request: RecordedRequest, apiKey: ApiKey | undefined): string {
  const parts = ['curl', '-X', request.method];
  for (const [name, value] of request.headers) {
    const secret = SENSITIVE_HEADER.test(name) || (apiKey !== undefined && name.toLowerCase() === apiKey.header.toLowerCase());
    const shown = secret ? (apiKey?.bearer && name.toLowerCase() === 'authorization' ? `Bearer $${TARGET_API_KEY_ENV}` : `$${TARGET_API_KEY_ENV}`) : value;
    // Double quotes around a header holding the variable, so a shell expands it on replay.
    parts.push('-H', secret ? `"${name}: ${shown}"` : shellQuote(`${name}: ${shown}`));
  }
  if (request.body !== undefined) {
    const body = request.body.length > MAX_BODY_CHARS ? `${request.body.slice(0, MAX_BODY_CHARS)}…(truncated)` : request.body;
    parts.push('-d', shellQuote(body));
  }
  parts.push(shellQuote(request.uri));
  return redactKey(parts.join(' '), apiKey?.key);
}

const CHECK_STATUS: Readonly<Record<string, string>> = { SUCCESS: 'success', FAILURE: 'failure', ERROR: 'error', INTERRUPTED: 'interrupted', SKIP: 'skip' };
const STOP_REASON: Readonly<Record<string, string>> = {
  COMPLETED: 'completed',
  INTERRUPTED: 'interrupted',
  FAILURE_LIMIT: 'failure_limit',
  MAX_TIME: 'max_time',
  SERVER_UNAVAILABLE: 'server_unavailable'
};

interface FailureGroup {
  operation: string;
  code: string;
  title: string;
  severity: Severity;
  message: string;
  cases: number;
  status?: number;
  curl?: string;
}

/** One operation-level error schemathesis survived (network error, hook error, schema problem). */
interface OperationError {
  operation: string;
  type: string;
  message: string;
}

/** Parses the NDJSON event stream; `parse` below turns it into findings. Exported for tests. */
export function parseSchemathesisEvents(text: string, apiKey: ApiKey | undefined) {
  if (text.trim() === '') throw new ToolOutputError(TOOL, 'the NDJSON report is empty');
  const events = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      const event = reader.object(parseJsonReport(TOOL, line), `event ${index + 1}`);
      const names = Object.keys(event);
      if (names.length !== 1) reader.fail(`event ${index + 1}`, `has ${names.length} keys, expected one event name`);
      return { name: names[0]!, body: reader.object(event[names[0]!], `event ${index + 1}.${names[0]!}`), where: `event ${index + 1}.${names[0]!}` };
    });
  const first = events[0]!;
  if (first.name !== 'Initialize') reader.fail('event 1', `is ${first.name}, expected Initialize: not a schemathesis NDJSON report`);
  const version = reader.word(first.body['schemathesis_version'], `${first.where}.schemathesis_version`);
  const groups = new Map<string, FailureGroup>();
  const errors: OperationError[] = [];
  const statuses = new Map<number, number>();
  const tested = new Set<string>();
  let requests = 0;
  let fatal: { type: string; message: string } | undefined;
  let stopReason: string | undefined;
  for (const { name, body, where } of events) {
    if (name === 'FatalError') {
      const exception = reader.object(body['exception'], `${where}.exception`);
      fatal = { type: reader.word(exception['type'], `${where}.exception.type`), message: reader.string(exception['message'], `${where}.exception.message`) };
    } else if (name === 'NonFatalError') {
      const value = reader.object(body['value'], `${where}.value`);
      errors.push({
        operation: reader.word(body['label'], `${where}.label`),
        type: reader.word(value['type'], `${where}.value.type`),
        message: reader.string(value['message'], `${where}.value.message`)
      });
    } else if (name === 'EngineFinished') {
      stopReason = reader.oneOf(body['stop_reason'], `${where}.stop_reason`, STOP_REASON);
    } else if (name === 'ScenarioFinished') {
      const status = reader.oneOf(body['status'], `${where}.status`, CHECK_STATUS);
      const recorder = reader.object(body['recorder'], `${where}.recorder`);
      const operation = reader.word(recorder['label'], `${where}.recorder.label`);
      // A scenario that passed or failed recorded its requests; a skipped one (no examples in the
      // schema) or an errored one (every request refused by the budget hook) may have none.
      const recorded = status === 'success' || status === 'failure';
      const interactions = !recorded && recorder['interactions'] === undefined ? {} : reader.object(recorder['interactions'], `${where}.recorder.interactions`);
      const checks = !recorded && recorder['checks'] === undefined ? {} : reader.object(recorder['checks'], `${where}.recorder.checks`);
      for (const [caseId, interaction] of Object.entries(interactions)) {
        const at = `${where}.recorder.interactions.${caseId}`;
        const i = reader.object(interaction, at);
        reader.object(i['request'], `${at}.request`);
        requests++;
        tested.add(operation);
        // A response is absent when the request itself failed (network error, reported separately).
        if (i['response'] !== undefined && i['response'] !== null) {
          const status = reader.integer(reader.object(i['response'], `${at}.response`)['status_code'], `${at}.response.status_code`, 100);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }
      for (const [caseId, list] of Object.entries(checks)) {
        const at = `${where}.recorder.checks.${caseId}`;
        const seenInCase = new Set<string>();
        reader.each(list, at, (item, itemAt) => {
          const check = reader.object(item, itemAt);
          reader.word(check['name'], `${itemAt}.name`);
          if (reader.oneOf(check['status'], `${itemAt}.status`, CHECK_STATUS) !== 'failure') return;
          const failure = reader.object(reader.object(check['failure_info'], `${itemAt}.failure_info`)['failure'], `${itemAt}.failure_info.failure`);
          const code = reader.word(failure['code'], `${itemAt}.failure_info.failure.code`);
          const title = reader.word(failure['title'], `${itemAt}.failure_info.failure.title`);
          const key = `${operation}\u0000${code}`;
          const group = groups.get(key);
          if (group) {
            if (!seenInCase.has(key)) group.cases++;
            seenInCase.add(key);
            return;
          }
          seenInCase.add(key);
          const interaction = interactions[caseId] === undefined ? undefined : reader.object(interactions[caseId], `${where}.recorder.interactions.${caseId}`);
          const request = interaction ? readRequest(interaction['request'], `${where}.recorder.interactions.${caseId}.request`) : undefined;
          const response = interaction?.['response'];
          groups.set(key, {
            operation,
            code,
            title,
            severity: reader.oneOf(failure['severity'], `${itemAt}.failure_info.failure.severity`, SCHEMATHESIS_SEVERITY),
            message: reader.string(failure['message'], `${itemAt}.failure_info.failure.message`),
            cases: 1,
            ...(response !== undefined && response !== null ? { status: reader.object(response, 'response')['status_code'] as number } : {}),
            ...(request ? { curl: reproducingCurl(request, apiKey) } : {})
          });
        });
      }
    }
  }
  return { version, groups: [...groups.values()], errors, statuses, tested, requests, fatal, stopReason };
}

/** Longest tool message quoted in a finding or error. */
const MAX_MESSAGE_CHARS = 500;

function clip(text: string, key: string | undefined): string {
  const redacted = redactKey(text, key).replace(/\s+/g, ' ').trim();
  return redacted.length > MAX_MESSAGE_CHARS ? `${redacted.slice(0, MAX_MESSAGE_CHARS)}…` : redacted;
}

/**
 * Turns the event stream into findings (one per operation × failure code, with the first failing
 * case's reproducing curl), facts (requests, statuses) and unchecked operations. Rules:
 * - a FatalError (schema unreachable or invalid) or exit 2 is a ToolFailureError naming it;
 * - no EngineFinished: the run was cut short, a ToolOutputError;
 * - every response 401/403: the key was refused, a ToolFailureError (schemathesis itself passes
 *   when the spec documents 401);
 * - operations that errored (network errors, the budget hook) without a single response are
 *   unchecked (the engine makes the run incomplete); errors on tested operations are warnings.
 */
export function parseSchemathesisReport(text: string, context: Pick<ToolContext, 'options'>, data: RunData): ParsedReport {
  const apiKey = readApiKey(context.options);
  const key = apiKey?.key;
  const run = parseSchemathesisEvents(text, apiKey);
  if (run.fatal) {
    const reason = run.fatal.type === 'LoaderError' ? 'could not load the OpenAPI schema' : 'aborted';
    throw new ToolFailureError(TOOL, `${reason}: ${run.fatal.type}: ${clip(run.fatal.message, key)}`, data.exit.code);
  }
  if (data.exit.code === 2) throw new ToolFailureError(TOOL, 'aborted (exit 2: configuration or schema error) without naming the reason in its report', 2);
  if (run.stopReason === undefined) throw new ToolOutputError(TOOL, 'the NDJSON report has no EngineFinished event: the run was cut short');
  const facts = [
    `schemathesis ${run.version}: ${run.requests} test request(s) sent (max-queries ${data.maxQueries}), ${run.tested.size} operation(s) tested`,
    ...(run.statuses.size > 0 ? [`responses by status: ${[...run.statuses].sort((a, b) => a[0] - b[0]).map(([status, n]) => `${status}×${n}`).join(', ')}`] : [])
  ];
  const refused = (run.statuses.get(401) ?? 0) + (run.statuses.get(403) ?? 0);
  if (run.requests > 0 && refused === run.requests) {
    throw new ToolFailureError(TOOL, `the endpoint refused all ${run.requests} request(s) with 401/403: check api-key and api-key-header`);
  }
  const budgetHit = run.errors.some((e) => e.type === 'HookExecutionError' && e.message.includes(BUDGET_MARK));
  if (budgetHit) facts.push(`request budget reached: max-queries ${data.maxQueries} stopped the run before every test case was sent`);
  if (run.stopReason !== 'completed' && run.stopReason !== 'failure_limit') {
    throw new ToolFailureError(TOOL, `stopped before completing (${run.stopReason}) after ${run.requests} request(s)`);
  }
  if (run.stopReason === 'failure_limit') facts.push(`stopped at ${MAX_FAILURES} failures (--max-failures): later operations may be untested`);
  const erroredOps = [...new Set(run.errors.map((e) => e.operation))];
  const untested = erroredOps.filter((op) => !run.tested.has(op));
  if (run.requests === 0 && run.errors.length > 0) {
    const e = run.errors[0]!;
    throw new ToolFailureError(TOOL, `no operation could be tested (${run.errors.length} error(s), first: ${e.operation}: ${e.type}: ${clip(e.message, key)})`);
  }
  const unchecked: UncheckedItem[] = [];
  for (const operation of untested) {
    const e = run.errors.find((item) => item.operation === operation)!;
    unchecked.push({ kind: 'file', name: operation, reason: e.message.includes(BUDGET_MARK) ? `max-queries budget of ${data.maxQueries} requests reached` : `${e.type}: ${clip(e.message, key)}` });
  }
  // The budget stops tests part-way: an operation tested in part is not checked in full either.
  if (budgetHit) {
    for (const operation of erroredOps.filter((op) => run.tested.has(op))) {
      if (run.errors.some((e) => e.operation === operation && e.message.includes(BUDGET_MARK))) {
        unchecked.push({ kind: 'file', name: operation, reason: `max-queries budget of ${data.maxQueries} requests reached part-way` });
      }
    }
  }
  const warnings = run.errors
    .filter((e) => run.tested.has(e.operation) && !e.message.includes(BUDGET_MARK))
    .map((e) => `${e.operation}: ${e.type}: ${clip(e.message, key)}`);
  const findings = run.groups.map((group): RawFinding => {
    const line = data.lines[group.operation];
    return {
      tool: TOOL,
      ruleId: group.code,
      title: `${group.title}: ${group.operation}`,
      message: [
        `${group.title} on ${group.operation} (${group.cases} test case(s))${group.status !== undefined ? `, response status ${group.status}` : ''}.`,
        ...(group.message.trim() !== '' ? [clip(group.message, key)] : []),
        ...(group.curl ? [`Reproduce: ${group.curl}`] : [])
      ].join(' '),
      severity: group.severity,
      ...(data.schemaFile ? { location: { path: data.schemaFile, ...(line !== undefined ? { startLine: line } : {}) } } : {}),
      identity: `${group.operation} ${group.code}`,
      tags: ['adversarial', 'api', `schemathesis:${group.code}`]
    };
  });
  // Exit 1 also means "errors only": no finding then, and the errors must not read as a pass.
  if (findings.length === 0 && data.exit.code === 1) {
    if (unchecked.length > 0) throw new ToolIncompleteError(TOOL, unchecked, 'operations');
    throw new ToolFailureError(TOOL, `exit 1 with no failure in the report: ${warnings.length} error(s)${warnings.length > 0 ? `, first: ${warnings[0]!}` : ''}`, 1);
  }
  return { findings, warnings, facts, ...(unchecked.length > 0 ? { unchecked } : {}) };
}

export const schemathesisAdapter: ToolAdapter = {
  id: TOOL,
  displayName: 'schemathesis',
  description: 'Property-based API tests against the OpenAPI schema: server errors and schema violations with the reproducing request.',
  install: { kind: 'python', tool: TOOL, distribution: 'schemathesis', module: 'schemathesis.cli', defaultVersion: SCHEMATHESIS_VERSION },
  defaultTimeoutMs: 30 * 60_000,
  severityMap: SCHEMATHESIS_SEVERITY,
  skip(context) {
    const mode = readMode(context.options);
    return Promise.resolve(mode === 'api' ? undefined : { reason: `mode ${mode} (schemathesis runs in mode api)`, notApplicable: true });
  },
  async command(_tool, context) {
    const options = context.options;
    const target = readTarget(options);
    const apiKey = readApiKey(options);
    assertKeyOnlyInApiKey(options, apiKey);
    const profile = readProfile(options);
    const schema = await readOpenApi(context);
    const maxQueries = readMaxQueries(options, SCHEMATHESIS_PROFILE[profile].maxQueries);
    const rateLimit = readRateLimit(options);
    const config = path.join(context.workDir, 'schemathesis.toml');
    const hook = path.join(context.workDir, 'secgate_budget.py');
    const report = path.join(context.workDir, 'schemathesis.ndjson');
    await writeFile(config, schemathesisConfig(apiKey, path.join(context.workDir, 'cache')));
    await writeFile(hook, BUDGET_HOOK);
    const lines = schema.kind === 'file' ? Object.fromEntries(operationLines(await readFile(schema.absolute, 'utf8'))) : {};
    const args = [
      '--config-file', config,
      'run', schema.kind === 'file' ? schema.absolute : schema.url.toString(),
      '--url', target.toString(),
      '--checks', SCHEMATHESIS_CHECKS.join(','),
      '--mode', 'positive',
      // Seeded rather than --generation-deterministic, which ignores the seed; no example database
      // (it would be written into the workspace and make runs depend on earlier ones).
      '--seed', String(readSeed(options)),
      '--generation-database', 'none',
      '--max-examples', String(SCHEMATHESIS_PROFILE[profile].maxExamples),
      '--request-timeout', String(REQUEST_TIMEOUT_S),
      '--request-retries', '2',
      '--max-failures', String(MAX_FAILURES),
      '--workers', String(readConcurrency(options)),
      ...(rateLimit !== undefined ? ['--rate-limit', rateLimitArg(rateLimit)] : []),
      ...(schema.kind === 'url' ? ['--wait-for-schema', '30'] : []),
      '--report', 'ndjson',
      '--report-ndjson-path', report,
      '--no-color'
    ];
    const data: RunData = { ...(schema.kind === 'file' ? { schemaFile: schema.relative } : {}), lines, maxQueries, exit: {} };
    return {
      args,
      reportFile: report,
      env: {
        ...apiKeyEnv(apiKey),
        [BUDGET_ENV]: String(maxQueries),
        SCHEMATHESIS_HOOKS: hook,
        // Hypothesis keeps a cache directory (.hypothesis/) in the current directory otherwise.
        HYPOTHESIS_STORAGE_DIRECTORY: path.join(context.workDir, 'hypothesis')
      },
      data
    };
  },
  exitMeaning(code, invocation): ExitMeaning {
    // 0 pass, 1 failures (or errors), 2 aborted. An abort's reason is in the NDJSON report
    // (FatalError), not on stderr (schemathesis prints it on stdout): parse names it.
    runData(invocation).exit.code = code;
    return code === 0 ? 'clean' : code === 1 || code === 2 ? 'findings' : 'error';
  },
  parse: (report, context, invocation) => parseSchemathesisReport(report, context, runData(invocation))
};
