/**
 * The capacity model and cost script (docs/capacity.md).
 *
 *   npm run capacity                       print the tables from capacity/*.json
 *   npm run capacity -- --write            refresh the tables in docs/capacity.md
 *   npm run capacity -- --check            exit 1 when docs/capacity.md differs from the model
 *   npm run capacity -- --requests 1000000 simulate a full day (the doc's table uses mix.simulation.requests)
 *   npm run capacity -- --inputs <dir>     read quotas.json, prices.json and mix.json from <dir>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CapacityInputError, loadInputs } from './capacity/inputs.ts';
import { buildModel } from './capacity/model.ts';
import { blockOf, renderModel, replaceBlock } from './capacity/render.ts';
import { simulateDay } from './capacity/simulate.ts';
import { approvalDefinition } from './capacity/state-machine.ts';

const ROOT = resolve(import.meta.dirname, '..');
export const DOC = resolve(ROOT, 'docs', 'capacity.md');

/** The tables for the inputs in `dir` (the doc's block). */
export function capacityTables(dir: string, requests?: number): string {
  const inputs = loadInputs(dir);
  const simulation = simulateDay(inputs.mix, requests);
  return renderModel(inputs, buildModel(inputs, approvalDefinition(), simulation));
}

function main(): number {
  const { values } = parseArgs({
    options: {
      inputs: { type: 'string', default: resolve(ROOT, 'capacity') },
      write: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      requests: { type: 'string' },
    },
  });
  let requests: number | undefined;
  if (values.requests !== undefined) {
    requests = Number(values.requests);
    if (!Number.isInteger(requests) || requests < 1) {
      console.error(`--requests must be a whole number ≥ 1, got "${values.requests}"`);
      return 2;
    }
    if (values.write || values.check) {
      console.error('--requests changes the simulation the doc shows; use it without --write or --check');
      return 2;
    }
  }
  const tables = capacityTables(values.inputs, requests);
  if (values.write || values.check) {
    const doc = readFileSync(DOC, 'utf8');
    if (values.check) {
      if (blockOf(doc) === tables) return 0;
      console.error('docs/capacity.md is out of date with the model: run `npm run capacity -- --write`');
      return 1;
    }
    writeFileSync(DOC, replaceBlock(doc, tables));
    console.log(`wrote the tables into ${DOC}`);
    return 0;
  }
  console.log(tables);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    process.exitCode = main();
  } catch (error) {
    if (error instanceof CapacityInputError) {
      console.error(error.message);
      process.exitCode = 2;
    } else throw error;
  }
}
