#!/usr/bin/env node
// Launcher for the TypeScript CLI: registers tsx's ESM loader, then runs functions/cli/main.ts, so
// `npx ala …` works from a clone without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../functions/cli/main.ts', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
