/**
 * Which rate counter the local gateway uses: in memory when it is the only process serving its
 * data folder, limits.db when it shares the folder with a cluster's workers; and never both at
 * once on one folder (the counts would be split between them).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { claimLimitsLock, type LimitsLock } from '../../../functions/adapters/sqlite/limits-lock.ts';
import { DataDirInUseError, type RunningGateway } from '../../../functions/local/gateway.ts';
import { main } from '../../../functions/local/main.ts';
import { gatewayConfig, PRINCIPALS } from '../../support/gateway-process.ts';

const LIMITS = { callsPerMinute: 3, submissionsPerMinute: 100, maxPending: 100 };

describe('local gateway: the rate counter', () => {
  const running: RunningGateway[] = [];
  const locks: LimitsLock[] = [];
  afterEach(async () => {
    for (const gateway of running.splice(0)) await gateway.close();
    for (const lock of locks.splice(0)) lock.release();
  });

  const start = async (config: string) => {
    const gateway = await main(['--config', config], { handleSignals: false, out: () => {} });
    running.push(gateway);
    return gateway;
  };
  const dataDir = (config: string) =>
    (JSON.parse(readFileSync(config, 'utf8')) as { dataDir: string }).dataDir;
  const call = (gateway: RunningGateway) =>
    fetch(`${gateway.url}/v1/action-requests?status=pending`, {
      headers: { authorization: `Bearer ${PRINCIPALS.agent.token}` },
    });

  it('counts in memory when it is the only process: exact, and nothing in limits.db', async () => {
    const config = gatewayConfig(undefined, 'warn', { limits: LIMITS });
    const gateway = await start(config);

    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(gateway)).status);

    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(existsSync(join(dataDir(config), 'limits.db'))).toBe(false);
  });

  it('refuses a second gateway on the same data folder, naming it and how to choose another', async () => {
    const config = gatewayConfig(undefined, 'warn', { limits: LIMITS });
    const first = await start(config);

    const second = start(config);

    await expect(second).rejects.toThrow(DataDirInUseError);
    await expect(second).rejects.toThrow(`data folder ${dataDir(config)}`);
    await expect(second).rejects.toThrow('--data-dir <dir>');
    // The first one still serves, and a gateway may start once it has stopped.
    expect((await call(first)).status).toBe(200);
    await first.close();
    expect((await call(await start(config))).status).toBe(200);
  });

  it('counts in limits.db, with them, when a cluster already shares the folder', async () => {
    const config = gatewayConfig(undefined, 'warn', { limits: LIMITS });
    // A cluster worker's share of the lock (it counts in limits.db).
    mkdirSync(dataDir(config), { recursive: true, mode: 0o700 });
    locks.push(claimLimitsLock(join(dataDir(config), 'limits.lock'), 'shared'));
    const gateway = await start(config);

    await call(gateway);
    await call(gateway);

    const db = new Database(join(dataDir(config), 'limits.db'), { readonly: true });
    const rows = db.prepare('SELECT key, count FROM rate_counters').all() as { key: string; count: number }[];
    db.close();
    expect(rows).toContainEqual({ key: `calls:${PRINCIPALS.agent.id}`, count: 2 });
  });
});
