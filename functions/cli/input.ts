/** Reading the CLI's inputs: JSON files (or stdin), `key=value` flags, JSON Lines exports. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ActionRequestInput } from '../../client/index.ts';
import { UsageError } from './errors.ts';
import type { CliIo } from './io.ts';

/** Reads a file argument, `-` meaning standard input. */
export async function readText(path: string, io: CliIo): Promise<string> {
  if (path === '-') return io.readStdin();
  const file = resolve(io.cwd, path);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(code);
    throw new UsageError(`cannot read ${file}: ${reason}`);
  }
}

export async function readJson(path: string, io: CliIo): Promise<unknown> {
  const text = await readText(path, io);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${path === '-' ? 'standard input' : path} is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/**
 * `key=value` sets a string; `key:=json` sets any JSON value (`count:=5`, `tags:=["a","b"]`), as
 * HTTPie does, so the types in the action hash are the ones meant.
 */
export function parseAssignment(text: string, flag: string): [string, unknown] {
  const match = /^([^=:]+)(:?=)([\s\S]*)$/.exec(text);
  if (!match?.[1] || !match[2]) {
    throw new UsageError(`${flag} expects key=value or key:=<json> (got ${JSON.stringify(text)})`);
  }
  const [, key, operator, raw = ''] = match;
  if (operator === '=') return [key, raw];
  try {
    return [key, JSON.parse(raw)];
  } catch (error) {
    throw new UsageError(
      `${flag} ${key}:= needs a JSON value (${(error as Error).message}); for text use ${key}=…`,
    );
  }
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export interface RequestFlags {
  readonly action?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  readonly arg?: string[];
  readonly prop?: string[];
  readonly justification?: string;
  readonly onBehalfOf?: string;
  readonly ticket?: string;
}

/** The request body from a JSON file, overridden and completed by flags. */
export async function buildRequest(
  file: string | undefined,
  flags: RequestFlags,
  io: CliIo,
): Promise<ActionRequestInput> {
  const base = file === undefined ? {} : await readJson(file, io);
  if (typeof base !== 'object' || base === null || Array.isArray(base)) {
    throw new UsageError(`${file} must hold a JSON object with action, resource and context`);
  }
  const body = base as Record<string, unknown>;
  const action = objectField(body, 'action');
  const resource = objectField(body, 'resource');
  const context = objectField(body, 'context');
  const args = objectField(action, 'args');
  const properties = objectField(resource, 'properties');

  if (flags.action !== undefined) action.name = flags.action;
  if (flags.resourceType !== undefined) resource.type = flags.resourceType;
  if (flags.resourceId !== undefined) resource.id = flags.resourceId;
  for (const item of flags.arg ?? []) {
    const [key, value] = parseAssignment(item, '--arg');
    args[key] = value;
  }
  for (const item of flags.prop ?? []) {
    const [key, value] = parseAssignment(item, '--prop');
    properties[key] = value;
  }
  if (flags.justification !== undefined) context.justification = flags.justification;
  if (flags.onBehalfOf !== undefined) context.on_behalf_of = flags.onBehalfOf;
  if (flags.ticket !== undefined) context.ticket = flags.ticket;

  const missing = [
    typeof action.name === 'string' ? undefined : '--action (action.name)',
    typeof resource.type === 'string' ? undefined : '--resource-type (resource.type)',
    typeof resource.id === 'string' ? undefined : '--resource-id (resource.id)',
  ].filter((m): m is string => m !== undefined);
  if (missing.length > 0) {
    throw new UsageError(`a request needs ${missing.join(', ')}; give them as flags or in the JSON file`);
  }
  return {
    ...body,
    action: { ...action, args },
    resource: { ...resource, properties },
    context,
  } as ActionRequestInput;
}

function objectField(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = parent[key];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(
      `"${key}" must be a JSON object (got ${Array.isArray(value) ? 'an array' : typeof value})`,
    );
  }
  return { ...(value as Record<string, unknown>) };
}

/**
 * Parses an audit export: JSON Lines of events, or of CloudEvents envelopes whose `data` is the
 * event (the archive format). Blank lines are skipped; anything else unreadable is an input error.
 */
export function parseEventLines(text: string, source: string): unknown[] {
  const events: unknown[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new UsageError(`${source}:${index + 1} is not a JSON line: ${(error as Error).message}`);
    }
    events.push(unwrapCloudEvent(value));
  });
  return events;
}

function unwrapCloudEvent(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  if (typeof record.specversion === 'string' && typeof record.data === 'object' && record.data !== null) {
    return record.data;
  }
  return value;
}

/** Groups events by `request_id`, keeping file order within each chain. */
export function groupByRequest(events: readonly unknown[]): Map<string, unknown[]> {
  const chains = new Map<string, unknown[]>();
  for (const event of events) {
    const id =
      typeof event === 'object' &&
      event !== null &&
      typeof (event as { request_id?: unknown }).request_id === 'string'
        ? (event as { request_id: string }).request_id
        : '(no request_id)';
    const chain = chains.get(id) ?? [];
    chain.push(event);
    chains.set(id, chain);
  }
  return chains;
}

/** Parses a non-negative whole number of seconds. */
export function parseSeconds(value: string, flag: string): number {
  if (!/^\d{1,7}$/.test(value))
    throw new UsageError(`${flag} expects whole seconds ≥ 0 (got ${JSON.stringify(value)})`);
  return Number(value);
}

/** Parses a whole number within bounds. */
export function parseCount(value: string, flag: string, min: number, max: number): number {
  const count = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!(count >= min && count <= max)) {
    throw new UsageError(
      `${flag} expects a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`,
    );
  }
  return count;
}
