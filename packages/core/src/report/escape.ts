/**
 * Everything a scanned repository or a tool prints is untrusted: a file named `x::error::pwned`
 * or a message with `<script>` must not forge workflow commands or markup.
 */

/**
 * Characters the runner skips before looking for `::`. It reads each line of step output and
 * calls .NET `String.TrimStart()`, which removes every `Char.IsWhiteSpace` character: U+0009–U+000D,
 * U+0020, U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. JavaScript's
 * `\s` misses U+0085, so `\n\u0085::error` got through. U+001C–U+001F (whitespace to Python and Java),
 * U+180E (whitespace in older Unicode) and the zero-width U+200B–U+200D, U+2060, U+FEFF are added as
 * a margin: being too broad here only breaks a harmless `::`, never lets one through.
 */
export const RUNNER_WHITESPACE = '\\t\\n\\v\\f\\r \\u001c-\\u001f\\u0085\\u00a0\\u1680\\u180e\\u2000-\\u200d\\u2028\\u2029\\u202f\\u205f\\u2060\\u3000\\ufeff';

/**
 * Characters that end a line for some reader of the log: the runner (CR, LF), and Unicode's line
 * terminators (VT, FF, NEL, LS, PS, and the information separators U+001C–U+001E).
 */
export const LINE_BREAKS = '\\n\\r\\v\\f\\u001c-\\u001e\\u0085\\u2028\\u2029';

/** No line the action writes to the log is longer than this (a 1 MB path once made a 1 MB `::error` line). */
export const LOG_LINE_LIMIT = 16_384;
/** Longest message the logger writes in one call; longer text is cut with a note. */
export const LOG_MESSAGE_LIMIT = 65_536;

const EXOTIC_BREAK = new RegExp(`\\r\\n|[${LINE_BREAKS.replace('\\n', '')}]`, 'g');
const COMMAND_AT_LINE_START = new RegExp(`^([${RUNNER_WHITESPACE}]*)::`, 'gm');
/** ESC sequences (CSI, OSC with BEL or ST, other two-character forms) and 8-bit CSI. */
const ANSI_SEQUENCE = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b\n]*(?:\u0007|\u001b\\)?|\u001b[P^_][^\u001b\n]*(?:\u001b\\)?|\u001b[ -/]*[0-~]?|\u009b[0-?]*[ -/]*[@-~]/g;
/** C0 and C1 controls but TAB, LF, CR (handled by each escaper), DEL, and bidi overrides/isolates (Trojan Source). */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Removes ANSI escape sequences, control characters and bidi overrides; line breaks become `\n`. */
export function stripAnsi(text: string): string {
  return text
    .replace(ANSI_SEQUENCE, '')
    .replace(EXOTIC_BREAK, '\n')
    .replace(CONTROL, '');
}

/** Markdown inline text: HTML and Markdown control characters become entities; newlines become spaces. */
export function escapeMarkdown(text: string): string {
  return stripAnsi(text)
    .replace(/\n+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1');
}

/** Code span content: backticks cannot be escaped inside a span, so they are replaced. */
export function escapeCode(text: string): string {
  return `<code>${stripAnsi(text).replace(/\n+/g, ' ').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '&#124;').replace(/`/g, '&#96;')}</code>`;
}

/** Cuts text to `max` characters, saying how much was left out (never mid surrogate pair). */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `… [${text.length - max} more characters]`;
  let end = Math.max(0, max - note.length);
  if (end > 0 && /[\ud800-\udbff]/.test(text[end - 1]!)) end--;
  return `${text.slice(0, end)}${note}`;
}

/**
 * Breaks anything the runner could read as a command when echoing tool output into the log:
 * `::cmd::` after any run of runner whitespace at a line start (every Unicode line terminator
 * counts as a line start; they all become `\n`), and the legacy `##[cmd]` form, which the runner
 * accepts anywhere in a line. Controls and ANSI sequences from tools are dropped.
 */
export function neutraliseCommands(text: string): string {
  return stripAnsi(text)
    .replace(COMMAND_AT_LINE_START, '$1:\u200b:')
    .replace(/##\[/g, '#\u200b#[');
}

/**
 * Text for a plain log line (`core.info`): neutralised, every line capped at `lineLimit`, the whole
 * at LOG_MESSAGE_LIMIT.
 */
export function safeLogText(text: string, lineLimit = LOG_LINE_LIMIT): string {
  const lines = neutraliseCommands(capText(text, LOG_MESSAGE_LIMIT)).split('\n');
  return lines.map((line) => capText(line, lineLimit)).join('\n');
}

/**
 * Text for the data or a property of a workflow command (`::error title=…::message`), which
 * @actions/core writes on one line with CR, LF and % escaped: only those two breaks survive (as
 * escapes), so no other line terminator can end the command early; `##[` is broken because the
 * runner tries the legacy form when a line is not a valid `::` command. `singleLine` folds
 * line breaks into spaces (titles, file names).
 */
export function commandText(text: string, max: number, singleLine = false): string {
  const clean = neutraliseCommands(text);
  return capText(singleLine ? clean.replace(/\n+/g, ' ') : clean, max);
}

const UNSAFE_PROPERTY = new RegExp(`[${LINE_BREAKS}\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]`);

/**
 * True when a value cannot go into a command property as it is (a file name with a line break,
 * a control, a bidi override or the legacy `##[` form, which @actions/core does not escape): such
 * a file gets a job-level annotation naming it, neutralised, in the message.
 */
export function hasUnsafeCharacters(text: string): boolean {
  return UNSAFE_PROPERTY.test(text) || text.includes('##[');
}
