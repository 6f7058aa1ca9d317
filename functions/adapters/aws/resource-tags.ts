/**
 * Vouched resource attributes from the resource's own tags, read with the Resource Groups Tagging
 * API (`GetResources` with `ResourceARNList`). Configured tag keys map to attribute names.
 *
 * Cached (TTL, bounded entries), bounded (one ARN per call, a deadline per call) and fail closed:
 * a call that fails, is throttled or times out answers "unknown" — the policy's strictest path —
 * logs a warning, and is not cached, so the next request asks again.
 *
 * The SDK package is imported when a client is made, not when this module loads: a bundler hoists
 * an external package's static import to the top of the bundle even when this module is itself
 * loaded with `import()`, and a function without tags must not pay for it at cold start.
 */
import type {
  ResourceGroupsTaggingAPIClient,
  ResourceGroupsTaggingAPIClientConfig,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { UNKNOWN_RESOURCE } from '../../core/attributes.ts';
import type { Resource, VouchedResource } from '../../core/model.ts';
import type { ResourceAttributes } from '../../core/ports/attributes.port.ts';
import type { Logger } from '../../observability/logger.ts';

/** Tag key → vouched attribute, when the deployer configures none. */
export const DEFAULT_TAG_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({
  environment: 'environment',
  data_classification: 'data_classification',
  owner: 'owner',
});

export const RESOURCE_TAGS_DEFAULTS = Object.freeze({
  ttlMs: 300_000,
  maxEntries: 1_000,
  timeoutMs: 2_000,
});

/** An ARN in any partition, as GetResources accepts it (1–1011 characters, no whitespace). */
const ARN = /^arn:aws(?:-[a-z]+)*:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12})?:\S+$/;
const MAX_ARN_LENGTH = 1011;

/** Whether `id` is an ARN the Tagging API could know; anything else is never sent. */
export function isTaggableArn(id: string): boolean {
  return id.length <= MAX_ARN_LENGTH && ARN.test(id);
}

export interface ResourceTagsOptions {
  readonly client: ResourceGroupsTaggingAPIClient;
  /** Tag key (case-sensitive, as AWS stores it) → attribute name. Other tags are ignored. */
  readonly tagAttributes?: Readonly<Record<string, string>>;
  /** How long an answer is reused. @default 300000 (5 min) */
  readonly ttlMs?: number;
  /** Answers kept at most; the least recently used goes first. @default 1000 */
  readonly maxEntries?: number;
  /** Deadline of one GetResources call, retries included. @default 2000 */
  readonly timeoutMs?: number;
  readonly logger: Pick<Logger, 'warn'>;
  /** Milliseconds since the epoch, for the cache's TTL. @default Date.now */
  readonly now?: () => number;
}

/**
 * A Tagging API client for the gateway: few retries and short socket timeouts, so a hung endpoint
 * ends within the per-call deadline instead of a Lambda's. Region and FIPS come from the environment.
 */
export async function createTaggingClient(
  config: ResourceGroupsTaggingAPIClientConfig = {},
): Promise<ResourceGroupsTaggingAPIClient> {
  const { ResourceGroupsTaggingAPIClient } = await import('@aws-sdk/client-resource-groups-tagging-api');
  return new ResourceGroupsTaggingAPIClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
    ...config,
  });
}

/**
 * A tiny TTL + LRU map. No LRU library is in the dependency tree, and this needs twenty lines: a Map
 * iterates in insertion order, so delete-then-set moves an entry to the most recent end and the
 * first key is the least recently used.
 */
class TtlLru<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly now: () => number;

  constructor(maxEntries: number, ttlMs: number, now: () => number) {
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expires <= this.now()) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.now() + this.ttlMs });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(
      `resource tags: ${name} must be a positive integer of milliseconds or entries, got ${value}`,
    );
  }
  return value;
}

export class ResourceTagAttributes implements ResourceAttributes {
  readonly #client: ResourceGroupsTaggingAPIClient;
  readonly #tagAttributes: ReadonlyMap<string, string>;
  readonly #timeoutMs: number;
  readonly #logger: Pick<Logger, 'warn'>;
  readonly #cache: TtlLru<VouchedResource>;
  /** Lookups under way, so concurrent requests for one ARN make one call. */
  readonly #inFlight = new Map<string, Promise<VouchedResource>>();

  constructor(options: ResourceTagsOptions) {
    this.#client = options.client;
    const mapping = options.tagAttributes ?? DEFAULT_TAG_ATTRIBUTES;
    this.#tagAttributes = new Map(Object.entries(mapping));
    if (this.#tagAttributes.size === 0) {
      throw new RangeError(
        'resource tags: the tag mapping is empty; map at least one tag key to an attribute',
      );
    }
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs ?? RESOURCE_TAGS_DEFAULTS.timeoutMs);
    this.#logger = options.logger;
    this.#cache = new TtlLru(
      positive('maxEntries', options.maxEntries ?? RESOURCE_TAGS_DEFAULTS.maxEntries),
      positive('ttlMs', options.ttlMs ?? RESOURCE_TAGS_DEFAULTS.ttlMs),
      options.now ?? Date.now,
    );
  }

  /** Answers kept in the cache now (for tests and metrics). */
  get cachedEntries(): number {
    return this.#cache.size;
  }

  async vouchedFor(resource: Pick<Resource, 'id'>): Promise<VouchedResource> {
    const arn = resource.id;
    if (!isTaggableArn(arn)) return UNKNOWN_RESOURCE;
    const cached = this.#cache.get(arn);
    if (cached !== undefined) return cached;
    const pending = this.#inFlight.get(arn);
    if (pending !== undefined) return pending;
    const lookup = this.#lookup(arn).finally(() => this.#inFlight.delete(arn));
    this.#inFlight.set(arn, lookup);
    return lookup;
  }

  async #lookup(arn: string): Promise<VouchedResource> {
    let tags: readonly { Key?: string | undefined; Value?: string | undefined }[];
    try {
      const { GetResourcesCommand } = await import('@aws-sdk/client-resource-groups-tagging-api');
      // One ARN per call (the API takes up to 100): a slow or refused answer holds up one request.
      const output = await this.#client.send(new GetResourcesCommand({ ResourceARNList: [arn] }), {
        abortSignal: AbortSignal.timeout(this.#timeoutMs),
      });
      tags = output.ResourceTagMappingList?.find((mapping) => mapping.ResourceARN === arn)?.Tags ?? [];
    } catch (error) {
      this.#logger.warn('resource tags unavailable; the resource is treated as unknown (strictest path)', {
        arn,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        timeoutMs: this.#timeoutMs,
      });
      return UNKNOWN_RESOURCE;
    }
    const attributes: Record<string, string> = {};
    for (const tag of tags) {
      const name = tag.Key === undefined ? undefined : this.#tagAttributes.get(tag.Key);
      if (name !== undefined && typeof tag.Value === 'string') attributes[name] = tag.Value;
    }
    // No mapped tag: nothing is vouched, and "known" with no attributes would read as unclassified.
    const answer: VouchedResource =
      Object.keys(attributes).length === 0 ? UNKNOWN_RESOURCE : { known: true, source: 'tags', attributes };
    this.#cache.set(arn, answer);
    return answer;
  }
}

/**
 * Parses a tag mapping as configured (`RESOURCE_TAG_ATTRIBUTES`): comma-separated `tagKey=attribute`
 * pairs, or a bare `key` for `key=key`. Throws naming the bad entry.
 */
export function parseTagAttributes(text: string): Record<string, string> {
  const mapping: Record<string, string> = {};
  const seen = new Set<string>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const key = (eq === -1 ? entry : entry.slice(0, eq)).trim();
    const attribute = (eq === -1 ? entry : entry.slice(eq + 1)).trim();
    if (key === '' || key.length > 128 || !/^[a-z][a-z0-9_]*$/.test(attribute)) {
      throw new RangeError(
        `resource tag mapping entry "${entry}" is not tagKey=attribute (tag key 1–128 characters, attribute lower-case letters, digits and _); e.g. "Environment=environment,DataClass=data_classification"`,
      );
    }
    if (key in mapping) throw new RangeError(`resource tag mapping names tag key "${key}" twice`);
    if (seen.has(attribute)) {
      throw new RangeError(`resource tag mapping maps two tag keys to attribute "${attribute}"; keep one`);
    }
    mapping[key] = attribute;
    seen.add(attribute);
  }
  if (Object.keys(mapping).length === 0) {
    throw new RangeError(
      `resource tag mapping "${text}" maps no tag key; e.g. "environment,data_classification,owner"`,
    );
  }
  return mapping;
}
