/**
 * Everything a scanned repository or a tool prints is untrusted: a file named `x::error::pwned`
 * or a message with `<script>` must not forge workflow commands or markup.
 */

/** Markdown inline text: HTML and Markdown control characters become entities; newlines become spaces. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1');
}

/** Code span content: backticks cannot be escaped inside a span, so they are replaced. */
export function escapeCode(text: string): string {
  return `<code>${text.replace(/[\r\n]+/g, ' ').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '&#124;').replace(/`/g, '&#96;')}</code>`;
}

/**
 * Breaks anything the runner could read as a command when echoing tool output into the log:
 * `::cmd::` at a line start and the legacy `##[cmd]` form, which the runner accepts anywhere.
 */
export function neutraliseCommands(text: string): string {
  return text.replace(/^(\s*)::/gm, '$1:\u200b:').replace(/##\[/g, '#\u200b#[');
}
