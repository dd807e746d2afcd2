/**
 * Reading and writing whole files as bytes, as `TaskEither`s whose errors name the file.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { FileError, toFileError } from './errors.ts';

export const readBytes = (path: string): TE.TaskEither<FileError, Uint8Array> =>
  TE.tryCatch(async () => new Uint8Array(await readFile(path)), toFileError(path, 'cannot read'));

/**
 * Writes `bytes` so that `path` holds either the old or the new contents, never half a file:
 * write a temporary sibling, fsync it, rename it over `path`. The temporary file is removed
 * when any step fails.
 */
export const writeFileAtomic = (path: string, bytes: Uint8Array): TE.TaskEither<FileError, void> =>
  TE.tryCatch(async () => {
    const temporary = join(dirname(path), `${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      const handle = await open(temporary, 'wx');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, path);
    } catch (e) {
      await unlink(temporary).catch(() => undefined);
      throw e;
    }
    await syncDirectory(dirname(path));
  }, toFileError(path, 'cannot write'));

/** Makes the rename durable; some platforms cannot open a directory, and that is fine. */
const syncDirectory = async (directory: string): Promise<void> => {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort only
  }
};

