/**
 * Errors for the byte codecs in `src/io`.
 *
 * A bad file is data, not a bug: decoders return `Either<FormatError, A>`, and the error
 * carries the format, a path to the offending part (a tensor name, a header key, a file
 * path) and the reason, so the message alone says what to fix.
 */
export class FormatError extends Error {
  override readonly name = 'FormatError';
  constructor(
    readonly format: string,
    readonly path: readonly string[],
    readonly reason: string,
  ) {
    super(`${format}: ${path.length > 0 ? `${path.map(p => JSON.stringify(p)).join('.')}: ` : ''}${reason}`);
  }
}

/** A file could not be read or written (missing, permissions, ...): names the file. */
export class FileError extends Error {
  override readonly name = 'FileError';
  constructor(
    readonly filePath: string,
    readonly reason: string,
    override readonly cause?: unknown,
  ) {
    super(`${filePath}: ${reason}`);
  }
}

/** Wraps an unknown thrown value from a Node API into a FileError for `path`. */
export const toFileError =
  (filePath: string, action: string) =>
  (e: unknown): FileError => {
    const code = (e as { code?: unknown } | null)?.code;
    const detail = e instanceof Error ? e.message : String(e);
    return new FileError(filePath, code === 'ENOENT' ? `${action}: no such file` : `${action}: ${detail}`, e);
  };

/** Encoding errors are programmer errors (data and shape disagree): thrown, never returned. */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
}
