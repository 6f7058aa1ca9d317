#!/usr/bin/env node
// The `ala` command: runs the compiled CLI in dist/cli/ (built by `npm run build`, which
// `npm install` and `npm ci` run through `prepare`). No TypeScript loader at run time.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/ala.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write(
    'error: the CLI is not built (dist/cli/ala.js is missing); run `npm run build` in the repository\n',
  );
  process.exit(2);
}
const { main } = await import(compiled.href);
process.exitCode = await main(process.argv.slice(2));
