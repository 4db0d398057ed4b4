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

/**
 * Not an error, but nothing to act on where the command needs something: no
 * kernel hash starts so (show), nothing indexed (check, and the commands that
 * need an index), no kernel to export or push. Exit code 1. An empty plan or an
 * empty listing is not this: it is success (exit 0).
 */
export class NothingMatched extends McmError {
  constructor(message: string) {
    super(message, 1);
  }
}
