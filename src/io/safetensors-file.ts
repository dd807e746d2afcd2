/**
 * The file-system edge for safetensors: read and decode, encode and write atomically.
 * Everything here is a `TaskEither`, so a missing or corrupt file is a value with its path.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { FileError, FormatError } from '../codec/errors.ts';
import { readBytes, writeFileAtomic } from './files.ts';
import { decodeSafetensors, encodeSafetensors, type Metadata, type Safetensors, type Tensors } from './safetensors.ts';

export { readBytes, writeFileAtomic } from './files.ts';

/** Decoding errors come back with the file path in front of the tensor path. */
export const readSafetensorsFile = (path: string): TE.TaskEither<FileError | FormatError, Safetensors> =>
  pipe(
    readBytes(path),
    TE.chainEitherKW(bytes =>
      pipe(
        decodeSafetensors(bytes),
        E.mapLeft(e => new FormatError(`safetensors (${path})`, e.path, e.reason)),
      ),
    ),
  );

export const writeSafetensorsFile = (path: string, tensors: Tensors, metadata?: Metadata): TE.TaskEither<FileError, void> =>
  pipe(
    TE.fromIO(() => encodeSafetensors(tensors, metadata)),
    TE.chain(bytes => writeFileAtomic(path, bytes)),
  );
