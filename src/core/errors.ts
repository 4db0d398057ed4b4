/** A known failure: printed as one line, exits with `exitCode`, no stack unless -vvv. */
export class McmError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "McmError";
  }
}

/** Not an error: nothing matched, or the user said no. Exit code 1. */
export class NothingMatched extends McmError {
  constructor(message: string) {
    super(message, 1);
  }
}
