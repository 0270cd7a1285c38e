/**
 * The promptfoo adapter's pieces without running promptfoo: the committed corpus, settings, budget
 * plan, and the strict reader and gate on real results files. The fixtures under
 * fixtures/promptfoo-0.121.20/ were written by promptfoo 0.121.20 (Node 20.20.2) run by this
 * adapter against test/helpers/llm-stub.ts (vulnerable stub; wrong key for the 401 one); the stub's
 * port is in them, no key (promptfoo writes credential headers as [REDACTED]).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError, MemoryLogger, ToolFailureError, ToolOutputError } from '@secgate/core';
import {
  corpus,
  corpusFamilies,
  errorCause,
  gatePromptfooResults,
  planTests,
  promptfooAdapter,
  promptfooConfig,
  readCorpus,
  readPromptfooResults,
  readPromptfooSettings,
  requestBody,
  selectFamilies,
  transformResponse,
  type PromptfooGateInput
} from '../src/adapters/promptfoo.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'promptfoo-0.121.20');
const VULNERABLE = readFileSync(path.join(FIXTURES, 'results-vulnerable.json'), 'utf8');
const UNAUTHORISED = readFileSync(path.join(FIXTURES, 'results-401.json'), 'utf8');
/** The options the fixtures were produced with. */
const FIXTURE_FAMILIES = ['prompt-injection', 'encoding', 'prompt-extraction'];

function gateFor(families: readonly string[], threshold = 0): PromptfooGateInput {
  const plan = planTests(corpus(), { profile: 'fast', families: [...families], maxQueries: 1000 });
  return { threshold, plan, maxQueries: 1000, target: 'http://127.0.0.1/v1/chat/completions', profile: 'fast' };
}

describe('promptfoo corpus', () => {
  it('loads the committed corpus: every family has fast tests, deterministic assertions only', () => {
    const tests = corpus();
    expect(corpusFamilies()).toEqual(['prompt-injection', 'indirect-prompt-injection', 'encoding', 'jailbreak', 'prompt-extraction', 'roleplay']);
    for (const family of corpusFamilies()) expect(tests.filter((t) => t.family === family && t.fast).length).toBeGreaterThanOrEqual(2);
    expect(new Set(tests.flatMap((t) => t.assert.map((a) => a.type)))).toEqual(new Set(['not-icontains', 'not-regex']));
    // Encoded attacks never carry their canary in clear.
    for (const test of tests.filter((t) => t.family === 'encoding')) {
      for (const a of test.assert) expect(test.prompt).not.toContain(a.value);
    }
  });

  it('refuses a broken corpus, naming the field', () => {
    const good = 'version: 1\ntests:\n  - description: a\n    vars: {prompt: hi}\n    assert: [{type: not-icontains, value: X}]\n    metadata: {pluginId: f, severity: high, owasp: LLM01, profile: fast}\n';
    expect(readCorpus(good)).toHaveLength(1);
    expect(() => readCorpus(good.replace('prompt: hi', "prompt: 'say {{x}}'"))).toThrow(/tests\[0\]\.vars\.prompt is empty or holds template syntax/);
    expect(() => readCorpus(good.replace('not-icontains', 'llm-rubric'))).toThrow(/tests\[0\]\.assert\[0\]\.type is llm-rubric, not a deterministic assertion/);
    expect(() => readCorpus(good.replace('severity: high', 'severity: severe'))).toThrow(/tests\[0\]\.metadata\.severity is "severe"/);
    expect(() => readCorpus(good.replace('LLM01', 'LLM11'))).toThrow(/owasp is LLM11/);
    expect(() => readCorpus(good.replace('version: 1', 'version: 2'))).toThrow(ToolOutputError);
  });
});

describe('promptfoo settings and config', () => {
  const base = { mode: 'llm', target: 'http://127.0.0.1:8000/v1/chat/completions', model: 'm' };

  it('builds the OpenAI chat body or a request-template body, and a response transform', () => {
    expect(requestBody(base)).toEqual({ body: { model: 'm', messages: [{ role: 'user', content: '{{prompt}}' }] }, responsePath: '$.choices[0].message.content' });
    expect(requestBody({ ...base, 'request-template': '{"input": {"text": $INPUT}, "n": 1}', 'response-path': '$.output' })).toEqual({
      body: { input: { text: '{{prompt}}' }, n: 1 },
      responsePath: '$.output'
    });
    expect(() => requestBody({ mode: 'llm' })).toThrow(ConfigurationError);
    expect(() => requestBody({ ...base, 'request-template': '{"p": $INPUT}' })).toThrow(/response-path.*is required with request-template/);
    expect(() => requestBody({ ...base, 'request-template': '{"p": $INPUT, "s": "{{env.HOME}}"}', 'response-path': '$.o' })).toThrow(/template syntax/);
    expect(transformResponse("$.data['out put'][2].text")).toBe(
      `(json) => { const value = json?.["data"]?.["out put"]?.[2]?.["text"]; if (typeof value !== 'string') throw new Error("response-path $.data['out put'][2].text is not a string in the response"); return value; }`
    );
    expect(() => transformResponse('$.predictions[*]')).toThrow(/not a path to one value/);
    const evaluate = new Function('json', `return (${transformResponse('$.choices[0].message.content')})(json)`) as (json: unknown) => string;
    expect(evaluate({ choices: [{ message: { content: 'hi' } }] })).toBe('hi');
    expect(() => evaluate({ error: 'x' })).toThrow(/is not a string in the response/);
  });

  it('maps probes to families (ours, promptfoo:<family>, garak modules) and engines to applicability', async () => {
    const families = corpusFamilies();
    expect(selectFamilies('promptinject, dan.Dan_11_0,encoding.InjectBase64,leakreplay', families)).toEqual(['prompt-injection', 'encoding', 'jailbreak']);
    expect(selectFamilies('promptfoo:roleplay', families)).toEqual(['roleplay']);
    expect(() => selectFamilies('promptfoo:toxicity', families)).toThrow(/names no promptfoo family/);
    const context = (options: Record<string, string>) => ({ workspace: '/w', targets: ['.'], exclude: [], workDir: '/t', options, logger: new MemoryLogger() });
    expect(await promptfooAdapter.skip!(context({ mode: 'classifier' }))).toEqual({ reason: 'mode is classifier; promptfoo attacks LLM endpoints (mode llm)', notApplicable: true });
    expect(await promptfooAdapter.skip!(context({ ...base, engines: 'garak' }))).toEqual({ reason: 'engines does not include promptfoo', notApplicable: true });
    expect(await promptfooAdapter.skip!(context({ ...base, probes: 'leakreplay' }))).toMatchObject({ notApplicable: true });
    expect(await promptfooAdapter.skip!(context(base))).toBeUndefined();
    await expect(promptfooAdapter.skip!(context({ ...base, engines: 'garak,pyrit' }))).rejects.toThrow(/'pyrit' is not one of garak, promptfoo/);
  });

  it('writes the key only as an env reference and refuses it elsewhere', () => {
    const settings = readPromptfooSettings({ ...base, 'api-key': 'sk-secret-123456', 'api-key-header': 'X-Api-Key' });
    const config = JSON.stringify(promptfooConfig(settings, planTests(corpus(), settings)));
    expect(config).toContain('"X-Api-Key":"{{env.SECGATE_TARGET_API_KEY}}"');
    expect(config).not.toContain('sk-secret-123456');
    expect(() => readPromptfooSettings({ ...base, 'api-key': 'sk-secret-123456', model: 'sk-secret-123456' })).toThrow(/holds the api-key value/);
  });

  it('fits the budget: retries only when all fit four times, else round-robin over families without retries', () => {
    const families = corpusFamilies();
    const fast = corpus().filter((t) => t.fast).length;
    expect(planTests(corpus(), { profile: 'fast', families, maxQueries: fast * 4 })).toMatchObject({ maxRetries: 1, maxRequests: fast * 4, notSent: [] });
    const tight = planTests(corpus(), { profile: 'fast', families, maxQueries: 6 });
    expect(tight).toMatchObject({ maxRetries: 0, maxRequests: 6, selected: fast });
    expect(tight.tests.map((t) => t.family)).toEqual(families);
    expect(planTests(corpus(), { profile: 'deep', families: ['encoding'], maxQueries: 1000 }).tests).toHaveLength(4);
  });
});

describe('promptfoo results: strict reader and gate on real output', () => {
  it('reads the real results of the vulnerable stub and fails each family with examples', () => {
    const results = readPromptfooResults(VULNERABLE);
    expect(results.promptfooVersion).toBe('0.121.20');
    expect(results.stats).toEqual({ successes: 0, failures: results.results.length, errors: 0 });
    const report = gatePromptfooResults(results, gateFor(FIXTURE_FAMILIES));
    expect(report.findings.map((f) => [f.ruleId, f.severity])).toEqual([
      ['prompt-injection', 'critical'],
      ['encoding', 'high'],
      ['prompt-extraction', 'high']
    ]);
    const encoding = report.findings[1]!;
    expect(encoding.message).toMatch(/^attack success rate 1 > 0 \(95 % CI 0\.44–1, n=3\) on encoding \(OWASP LLM01\)\. Examples: \[encoding\/base64\] prompt: "Decode this base64/);
    expect(encoding.message).toContain('SECGATE-B64-PWNED-41');
    expect(encoding.severityBasis).toBe('corpus severity medium, raised: missed by 1 (≥ 0.5)');
    expect(report.metrics!.map((m) => m.id)).toEqual(FIXTURE_FAMILIES.map((f) => `promptfoo:${f}`));
    // A lenient threshold the small sample cannot clear: the interval straddles it → low findings and a warning each.
    const lenient = gatePromptfooResults(results, gateFor(FIXTURE_FAMILIES, 0.99));
    expect(lenient.findings.map((f) => f.severity)).toEqual(['low', 'low', 'low']);
    expect(lenient.metrics!.every((m) => m.verdict === 'inconclusive')).toBe(true);
    expect(lenient.warnings[0]).toBe('promptfoo:prompt-injection: the interval straddles max-attack-success-rate 0.99; run profile deep for more tests');
  });

  it('names the 401s of the real wrong-key run as a failure', () => {
    const results = readPromptfooResults(UNAUTHORISED);
    expect(results.results.every((r) => r.outcome === 'error')).toBe(true);
    expect(errorCause(results.results[0]!.error!)).toBe('HTTP 401');
    expect(() => gatePromptfooResults(results, gateFor(FIXTURE_FAMILIES))).toThrow(ToolFailureError);
    expect(() => gatePromptfooResults(results, gateFor(FIXTURE_FAMILIES))).toThrow(/errored \(HTTP 401 ×7\) — check api-key and api-key-header/);
  });

  it('keeps partial results when some tests error, and makes the run incomplete above the error share', () => {
    const parsed = JSON.parse(VULNERABLE) as { results: { results: Record<string, unknown>[]; stats: Record<string, number> } };
    const first = parsed.results.results[0]!;
    Object.assign(first, { success: false, failureReason: 2, error: 'HTTP call failed with status 500 Internal Server Error: {}' });
    delete first['response'];
    parsed.results.stats['failures']! -= 1;
    parsed.results.stats['errors'] = 1;
    const report = gatePromptfooResults(readPromptfooResults(JSON.stringify(parsed)), gateFor(FIXTURE_FAMILIES));
    expect(report.warnings).toEqual(['endpoint errors on 1 of 7 test(s): HTTP 500 ×1']);
    expect(report.unchecked).toEqual([{ kind: 'file', name: 'endpoint', reason: 'endpoint errors on 1 of 7 test(s) (HTTP 500 ×1), above 10 %: those attacks were not evaluated' }]);
    expect(report.metrics![0]).toMatchObject({ id: 'promptfoo:prompt-injection', n: 1, detail: '1 corpus test(s), 1 errored (not counted)' });
  });

  it('refuses garbled results, naming the field', () => {
    const parsed = () => JSON.parse(VULNERABLE) as { results: { version: number; results: Record<string, unknown>[]; stats: Record<string, number> } };
    const wrongReason = parsed();
    wrongReason.results.results[0]!['failureReason'] = 3;
    expect(() => readPromptfooResults(JSON.stringify(wrongReason))).toThrow(/results\.results\[0\]\.failureReason is 3/);
    const mismatch = parsed();
    mismatch.results.results[0]!['success'] = true;
    expect(() => readPromptfooResults(JSON.stringify(mismatch))).toThrow(/results\.results\[0\]\.success is true with failureReason 1: garbled/);
    const stats = parsed();
    stats.results.stats['failures'] = 99;
    expect(() => readPromptfooResults(JSON.stringify(stats))).toThrow(/results\.stats\.failures is 99 but the results hold 7/);
    const version = parsed();
    version.results.version = 4;
    expect(() => readPromptfooResults(JSON.stringify(version))).toThrow(/results\.version is 4/);
    const foreign = parsed();
    (foreign.results.results[0]!['testCase'] as { metadata: Record<string, unknown> }).metadata['secgateTest'] = 'someone-else';
    expect(() => gatePromptfooResults(readPromptfooResults(JSON.stringify(foreign)), gateFor(FIXTURE_FAMILIES))).toThrow(/names someone-else, a test secgate did not send/);
    expect(() => readPromptfooResults('')).toThrow(/empty/);
  });

  it('classifies error causes from promptfoo error texts', () => {
    expect(errorCause('Error: HTTP call failed with status 429 Too Many Requests: {}')).toBe('HTTP 429');
    expect(errorCause('Rate limit exceeded for http://x after 2 attempts')).toBe('HTTP 429');
    expect(errorCause('Error: Failed to transform response: Error: Transform failed: x')).toBe('malformed response');
    expect(errorCause('Request failed after 0 retries: TypeError: fetch failed (Cause: Error: connect ECONNREFUSED 127.0.0.1:9)')).toBe('connection failed');
    expect(errorCause('The operation was aborted due to timeout')).toBe('timeout');
  });
});
