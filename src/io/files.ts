/**
 * Reading and writing whole files as bytes, as `TaskEither`s whose errors name the file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { FileError, toFileError } from '../codec/errors.ts';

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


/** A failed file-system call in words (the code stays in brackets for searching). */
const why = (e: NodeJS.ErrnoException): string => {
  const words: Record<string, string> = {
    EACCES: 'permission denied', EPERM: 'not permitted', EROFS: 'read-only file system', ENOSPC: 'no space left',
    ENOENT: 'this file system takes no new folders here', EDQUOT: 'disk quota exceeded',
  };
  return e.code && words[e.code] ? `${words[e.code]} (${e.code})` : e.message;
};

/**
 * Creates `dir` and any missing parents, one level at a time, and checks that a file can be
 * written in it. The error names the first path that is in the way: a file where a folder
 * should be, a folder the user may not write, a file system that takes no new folders. (Node's
 * own `mkdir(…, { recursive: true })` never returns for some of these, e.g. under `/proc`.)
 */
export const ensureWritableDir = (dir: string): TE.TaskEither<FileError, void> =>
  TE.tryCatch(async () => {
    const missing: string[] = [];
    let at = resolve(dir);
    for (;;) {
      const info = await stat(at).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return null;
        throw new FileError(at, `cannot use as the output folder: ${e.message}`, e);
      });
      if (info?.isDirectory()) break;
      if (info) throw new FileError(at, 'is a file, so the output folder cannot be created there');
      missing.unshift(at);
      const up = dirname(at);
      if (up === at) break;
      at = up;
    }
    for (const d of missing) {
      await mkdir(d).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw new FileError(d, `cannot create the output folder: ${why(e)}`, e);
      });
    }
    const probe = join(dir, `.write-test-${process.pid}`);
    await writeFile(probe, '').catch((e: NodeJS.ErrnoException) => {
      throw new FileError(dir, `cannot write in the output folder: ${why(e)}`, e);
    });
    await unlink(probe).catch(() => undefined);
  }, (e) => (e instanceof FileError ? e : toFileError(dir, 'cannot use as the output folder')(e)));
