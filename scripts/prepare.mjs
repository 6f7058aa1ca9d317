// `prepare` (run by npm install and npm ci): builds dist/ when the build tools are installed. An
// install without dev dependencies (`npm ci --omit=dev`, as in a container image) still runs
// `prepare`; there it skips the build and says how to get one, instead of failing the install.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const missing = ['tsx', 'esbuild'].filter((name) => {
  try {
    require.resolve(`${name}/package.json`);
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  console.warn(
    `prepare: ${missing.join(' and ')} not installed (dev dependencies omitted), so dist/ was not built. ` +
      'Build where dev dependencies are installed (npm ci && npm run build), then prune (npm prune --omit=dev).',
  );
  process.exit(0);
}
const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(build.status ?? 1);
