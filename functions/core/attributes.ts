/**
 * Policy input assembly with provenance: the agent's `resource.properties` are claims; `vouched`
 * holds what the gateway itself resolved — from the resource inventory in policy data and, when
 * enabled, the resource's tags (an adapter of the `ResourceAttributes` port). A policy decides on
 * vouched attributes and lets a claim only make a decision stricter.
 */
import type { Directory, InventoryEntry, PolicyInput, Resource, VouchedResource } from './model.ts';
import type { ResourceAttributes } from './ports/attributes.port.ts';

const compiled = new WeakMap<InventoryEntry, RegExp>();

/**
 * `*` matches any run of characters within one ARN field or path segment (never `:` or `/`), `?`
 * one such character; the rest is literal. Not crossing `/` matters: with `arn:*:s3:::*-staging` a
 * made-up id such as `arn:aws:s3:::fin-ledger-prod/x-staging` must not be vouched as staging.
 */
export function inventoryPattern(match: string): RegExp {
  const body = match
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^:/]*')
    .replace(/\?/g, '[^:/]');
  return new RegExp(`^${body}$`, 's');
}

function patternOf(entry: InventoryEntry): RegExp {
  let pattern = compiled.get(entry);
  if (pattern === undefined) {
    pattern = inventoryPattern(entry.match);
    compiled.set(entry, pattern);
  }
  return pattern;
}

/** The first inventory entry matching the resource id, as vouched attributes; unknown otherwise. */
export function vouchedResource(resource: Pick<Resource, 'id'>, directory: Directory): VouchedResource {
  for (const entry of directory.inventory ?? []) {
    if (patternOf(entry).test(resource.id)) {
      return { known: true, source: 'inventory', match: entry.match, attributes: { ...entry.attributes } };
    }
  }
  return { known: false, source: 'none', attributes: {} };
}

/**
 * The input a policy sees: the request as the agent sent it, plus what the gateway vouches for.
 * Whatever `vouched` the caller passed is replaced: only the gateway sets it.
 */
export function withVouched(input: PolicyInput, directory: Directory): PolicyInput {
  return withVouchedResource(input, vouchedResource(input.resource, directory));
}

export const UNKNOWN_RESOURCE: VouchedResource = Object.freeze({
  known: false,
  source: 'none',
  attributes: Object.freeze({}),
}) as VouchedResource;

/**
 * The inventory as a `ResourceAttributes` source. Reads the directory on every call, so a reloaded
 * policy bundle's inventory applies at once. Pure: no I/O.
 */
export function inventoryAttributes(directory: () => Directory): ResourceAttributes {
  return { vouchedFor: async (resource) => vouchedResource(resource, directory()) };
}

/**
 * The inventory first; `tags` only for a resource the inventory does not know. A reviewed inventory
 * entry is never amended by a tag (whoever may tag the resource could otherwise loosen what review
 * decided, e.g. add `environment=dev` to an entry that deliberately leaves it unset = production).
 * See docs/decisions/0006-trust-boundaries.md.
 */
export function inventoryThenTags(
  inventory: ResourceAttributes,
  tags: ResourceAttributes,
): ResourceAttributes {
  return {
    vouchedFor: async (resource) => {
      const fromInventory = await inventory.vouchedFor(resource);
      return fromInventory.known ? fromInventory : tags.vouchedFor(resource);
    },
  };
}

/** `withVouched` over any source: whatever `vouched` the caller passed is replaced. */
export async function withVouchedFrom(input: PolicyInput, source: ResourceAttributes): Promise<PolicyInput> {
  return withVouchedResource(input, await source.vouchedFor(input.resource));
}

/**
 * `{ ...input, vouched: { resource } }`, by `Object.assign`: the same members in the same order,
 * where the literal (a member after a leading spread) costs several µs per call in Node 20's V8.
 * An own `__proto__` member (which validation refuses anyway) would be a prototype to
 * `Object.assign`, so such an input goes the literal's way.
 */
function withVouchedResource(input: PolicyInput, resource: VouchedResource): PolicyInput {
  if (Object.hasOwn(input, '__proto__')) return { ...input, vouched: { resource } };
  return Object.assign({}, input, { vouched: { resource } });
}
