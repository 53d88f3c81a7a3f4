/**
 * Command output: JSON lines on stdout with `--json`, readable lines otherwise. Diagnostics go
 * to stderr so stdout stays parseable.
 */
export interface Output {
  readonly json: boolean;
  /** One event: printed as a JSON line, or as `text` for people. */
  event(event: Record<string, unknown> & { event: string }, text: string): void;
  /** A note for people only (stderr); silent in JSON mode. */
  note(text: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    event(event, text) {
      process.stdout.write(json ? `${JSON.stringify(event)}\n` : `${text}\n`);
    },
    note(text) {
      if (!json) process.stderr.write(`${text}\n`);
    },
  };
}
