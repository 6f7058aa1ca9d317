import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../../functions/core/limits.ts';
import { indexShardsFromEnv, limitSettingsFromEnv } from '../../../functions/handlers/composition.ts';

describe('JSON settings from the environment', () => {
  afterEach(() => {
    delete process.env.GATEWAY_LIMITS;
    delete process.env.INDEX_SHARDS;
  });

  it('uses the defaults when unset or blank', () => {
    expect(limitSettingsFromEnv()).toEqual(DEFAULT_LIMITS);
    process.env.INDEX_SHARDS = '  ';
    expect(indexShardsFromEnv()).toEqual({});
  });

  it('lays a subset over the defaults', () => {
    process.env.GATEWAY_LIMITS = '{"maxPending":5}';
    expect(limitSettingsFromEnv()).toEqual({ ...DEFAULT_LIMITS, maxPending: 5 });
    process.env.INDEX_SHARDS = '{"shards":8}';
    expect(indexShardsFromEnv()).toEqual({ shards: 8 });
  });

  it.each([
    ['GATEWAY_LIMITS', 'not json', limitSettingsFromEnv],
    ['GATEWAY_LIMITS', '{"maxPending":0}', limitSettingsFromEnv],
    ['GATEWAY_LIMITS', '{"maxpending":5}', limitSettingsFromEnv],
    ['INDEX_SHARDS', '{"shards":1.5}', indexShardsFromEnv],
    ['INDEX_SHARDS', '[4]', indexShardsFromEnv],
  ])('refuses %s=%s, naming the variable and what it got', (name, value, read) => {
    process.env[name] = value;
    let message = '';
    try {
      read();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.startsWith(`${name} must be JSON like `)).toBe(true);
    expect(message.endsWith(`; got ${JSON.stringify(value)}`)).toBe(true);
  });
});
