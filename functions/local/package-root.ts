/**
 * The folder of this repository's package.json (where `policies/build/` lives), found by walking up
 * from this module. The same answer from the TypeScript sources (functions/local/) and from the
 * bundles in dist/, whatever file or chunk the bundler put this code in.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}; is the repository complete?`);
    dir = parent;
  }
}
