/** A command line that cannot be run as given; the CLI prints the message and `usage` and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The usage line of the command that was misused. */
  readonly usage: string;

  constructor(message: string, usage: string) {
    super(message);
    this.usage = usage;
  }
}
