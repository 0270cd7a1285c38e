/** The only way core code talks to the outside; the action and the CLI each provide one. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  /** Wraps a block of output (a collapsible group on GitHub, an indented block in a terminal). */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** A logger that keeps everything, for tests and for capturing tool logs. */
export class MemoryLogger implements Logger {
  readonly lines: { level: string; message: string }[] = [];
  debug(message: string): void { this.lines.push({ level: 'debug', message }); }
  info(message: string): void { this.lines.push({ level: 'info', message }); }
  warning(message: string): void { this.lines.push({ level: 'warning', message }); }
  error(message: string): void { this.lines.push({ level: 'error', message }); }
  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.lines.push({ level: 'group', message: name });
    return fn();
  }
  text(): string {
    return this.lines.map((l) => `${l.level}: ${l.message}`).join('\n');
  }
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  group: (_name, fn) => fn()
};
