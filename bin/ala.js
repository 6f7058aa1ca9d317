#!/usr/bin/env node
// The `ala` command: runs the compiled CLI in dist/cli/ (built by `npm run build`, which
// `npm install` and `npm ci` run through `prepare`). No TypeScript loader at run time.
let cli;
try {
  cli = await import('../dist/cli/ala.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli/ala.js'))
    throw error;
  process.stderr.write(
    'error: the CLI is not built (dist/cli/ala.js is missing); run `npm run build` in the repository\n',
  );
  process.exit(2);
}
process.exitCode = await cli.main(process.argv.slice(2));
