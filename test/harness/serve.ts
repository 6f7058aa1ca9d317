// Starts DynamoDB Local and moto server and keeps them running, for fast local iteration:
//
//   npx tsx test/harness/serve.ts     # prints `export ALA_TEST_DYNAMODB_ENDPOINT=…` and `…MOTO…` lines
//
// Paste the printed lines into another shell: `npx vitest run --project integration …` then reuses
// these emulators instead of starting its own (saves ~1.5 s per run). Ctrl-C stops them.

import { rmdirSync } from 'node:fs';
import { type EmulatorHandle, startDynamoDbLocal, startMotoServer } from './emulators.ts';
import { applyEnv, ENV, offlineAwsEnv, runDir } from './env.ts';

applyEnv(offlineAwsEnv({}));
const started = performance.now();
const handles: EmulatorHandle[] = await Promise.all([startDynamoDbLocal(), startMotoServer()]);
const [dynamodb, moto] = handles;
if (dynamodb === undefined || moto === undefined) throw new Error('unreachable');
process.stderr.write(
  `DynamoDB Local (pid ${dynamodb.pid}) and moto server (pid ${moto.pid}) up in ${Math.round(performance.now() - started)} ms. Ctrl-C stops them.\n`,
);
process.stdout.write(
  `export ${ENV.dynamodbEndpoint}=${dynamodb.endpoint}\nexport ${ENV.motoEndpoint}=${moto.endpoint}\n`,
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled(handles.map((h) => h.dispose()));
  try {
    rmdirSync(runDir());
  } catch {
    // kept: an emulator crashed and its log is there
  }
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
// Keep the process (and so the guards' parent) alive until a signal arrives.
setInterval(() => {}, 1 << 30);
