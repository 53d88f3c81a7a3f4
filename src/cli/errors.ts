/**
 * A user mistake or an outcome the command must report: printed as one line on stderr, and the
 * process exits with `exitCode` (1 for "could not do it", 2 for bad input).
 */
export class CliError extends Error {
  readonly code = 'CLI_ERROR';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
