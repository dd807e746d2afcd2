/**
 * The package's version, read from package.json so that it is written in one place. The path is
 * relative to this file, which sits two folders below the package root both as source (src/cli)
 * and as built JavaScript (dist/cli), so it holds for tsx and for an installed package alike.
 */
import { readFileSync } from 'node:fs';

export const packageVersion = (): string =>
  (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
