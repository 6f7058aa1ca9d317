// vitest globalSetup of the `integration` project: starts DynamoDB Local and moto server once per
// run (in parallel, on free ports, each under a guard process), hands their endpoints to tests via
// provide/inject and environment variables, and stops them in teardown. If the runner dies instead
// (SIGINT, SIGTERM, SIGKILL), the guards kill the emulators: see docs/testing.md.
import { rmdirSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import type { HarnessContext } from './context.ts';
import {
  connectExisting,
  type EmulatorHandle,
  type EmulatorKind,
  startDynamoDbLocal,
  startMotoServer,
} from './emulators.ts';
import {
  applyEnv,
  ENV,
  harnessLog,
  offlineAwsEnv,
  pruneStaleRunDirs,
  runDir,
  runId,
  TEST_REGION,
} from './env.ts';
import { HarnessPrerequisiteError } from './prereqs.ts';

const ALL: readonly EmulatorKind[] = ['dynamodb-local', 'moto'];

export function parseEmulatorList(raw: string | undefined): EmulatorKind[] {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'all') return [...ALL];
  const wanted = new Set<EmulatorKind>();
  for (const item of raw.split(',').map((s) => s.trim().toLowerCase())) {
    if (item === 'none' || item === '') continue;
    if (item === 'dynamodb' || item === 'dynamodb-local' || item === 'ddb') wanted.add('dynamodb-local');
    else if (item === 'moto') wanted.add('moto');
    else throw new Error(`${ENV.emulators}: unknown emulator "${item}" (expected dynamodb, moto, none)`);
  }
  return [...wanted];
}

function removeRunDirIfEmpty(): void {
  try {
    rmdirSync(runDir());
  } catch {
    // missing, or not empty: a crashed emulator's log (or ALA_TEST_KEEP_LOGS) is kept there
  }
}

function mb(bytes: number | undefined): string {
  return bytes === undefined ? 'n/a' : `${Math.round(bytes / 1024 / 1024)} MB`;
}

async function bringUp(kind: EmulatorKind, preset: string | undefined): Promise<EmulatorHandle> {
  if (preset !== undefined && preset !== '') return connectExisting(kind, preset);
  return kind === 'dynamodb-local' ? startDynamoDbLocal() : startMotoServer();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = performance.now();
  const wanted = parseEmulatorList(process.env[ENV.emulators]);
  const presets: Record<EmulatorKind, string | undefined> = {
    'dynamodb-local': process.env[ENV.dynamodbEndpoint],
    moto: process.env[ENV.motoEndpoint],
  };
  pruneStaleRunDirs();
  // Offline AWS environment first, so nothing started from here on can find real credentials.
  const restoreOffline = applyEnv(offlineAwsEnv({}));

  const results = await Promise.allSettled(wanted.map((kind) => bringUp(kind, presets[kind])));
  const handles = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    await Promise.allSettled(handles.map((h) => h.dispose()));
    restoreOffline();
    removeRunDirIfEmpty();
    const first = failures[0];
    if (failures.every((f) => f instanceof HarnessPrerequisiteError)) {
      throw new HarnessPrerequisiteError(failures.map((f) => (f as Error).message).join('\n'));
    }
    throw first instanceof Error ? first : new Error(String(first));
  }

  const byKind = (kind: EmulatorKind) => handles.find((h) => h.kind === kind);
  const context: HarnessContext = {
    dynamodbEndpoint: byKind('dynamodb-local')?.endpoint,
    motoEndpoint: byKind('moto')?.endpoint,
    region: TEST_REGION,
    runId: runId(),
  };
  const restoreEndpoints = applyEnv(
    offlineAwsEnv({ dynamodb: context.dynamodbEndpoint, moto: context.motoEndpoint }),
  );
  project.provide('alaHarness', context);

  for (const h of handles) {
    harnessLog(
      h.external
        ? `${h.name}: reusing ${h.endpoint}`
        : `${h.name} ready at ${h.endpoint} in ${h.startupMs} ms (pid ${h.pid})`,
    );
  }
  const owned = handles.filter((h) => !h.external).length;
  const what =
    handles.length === 0
      ? 'no emulators'
      : `${owned} started${owned > 1 ? ' in parallel' : ''}, ${handles.length - owned} reused`;
  harnessLog(`global setup ${Math.round(performance.now() - started)} ms (${what}; run ${runId()})`);

  return async () => {
    const stopping = performance.now();
    const memory = handles
      .filter((h) => !h.external)
      .map((h) => `${h.name} peak RSS ${mb(h.peakRssBytes())}`)
      .join(', ');
    await Promise.allSettled(handles.map((h) => h.dispose()));
    restoreEndpoints();
    restoreOffline();
    removeRunDirIfEmpty();
    harnessLog(
      `teardown ${Math.round(performance.now() - stopping)} ms${memory === '' ? '' : `; ${memory}`}`,
    );
  };
}
