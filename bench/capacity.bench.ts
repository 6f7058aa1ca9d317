/**
 * The full synthetic day (docs/capacity.md#the-simulation): a million requests of the mix in
 * capacity/mix.json through the store's key functions. Prints, per table and index, the hottest
 * partition key's share of writes and its write rate at the model's top rate line, and fails when
 * any of them reaches the per-partition limit. `npm test` runs a smaller sample of the same code.
 *
 *   npm run bench -- capacity          BENCH_REQUESTS=200000 tsx bench/capacity.bench.ts
 */
import { resolve } from 'node:path';
import { loadInputs, quotaOf } from '../scripts/capacity/inputs.ts';
import { writeUnitsPerWrite } from '../scripts/capacity/model.ts';
import { formatNumber } from '../scripts/capacity/render.ts';
import { hottestKeyRate, simulateDay } from '../scripts/capacity/simulate.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1_000_000);
const inputs = loadInputs(resolve(import.meta.dirname, '..', 'capacity'));
const top = Math.max(...inputs.mix.rates);
const limit = quotaOf(inputs.quotas, 'us-east-1', 'dynamodbPartitionWrites').value;

const started = process.hrtime.bigint();
const result = simulateDay(inputs.mix, REQUESTS);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(
  `simulated ${formatNumber(result.requests)} requests, ${formatNumber(result.commits)} commits in ${seconds.toFixed(1)} s (seed ${inputs.mix.simulation.seed})`,
);
let over = 0;
for (const tally of result.tallies) {
  const writes = hottestKeyRate(tally, result.requests, top);
  const units = writes * writeUnitsPerWrite(tally.target);
  if (units >= limit) over += 1;
  console.log(
    `${tally.target.padEnd(36)} hottest ${tally.hottestKey.slice(0, 24).padEnd(24)} share ${(
      (tally.hottestWrites / tally.writes) * 100
    ).toFixed(
      3,
    )} %  at ${formatNumber(top)}/s: ${formatNumber(writes)} writes/s, ${formatNumber(units)} WCU/s${
      units >= limit ? '  OVER the partition limit' : ''
    }`,
  );
}
if (over > 0) {
  console.error(`${over} partition(s) reach ${limit} WCU/s at ${top} requests/s`);
  process.exit(1);
}
