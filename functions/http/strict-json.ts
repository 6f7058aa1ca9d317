/**
 * Strict JSON: the bytes an agent sends must mean one thing to every parser that will read them —
 * this gateway, the policy engine (OPA's wasm), the audit verifier (any RFC 8785 implementation),
 * and the approver's screen. JSON.parse alone silently picks the last of duplicate keys, rounds
 * integers beyond 2^53, turns 1e-400 into 0 and 1e400 into Infinity, and (behind `Request.json()`)
 * replaces invalid UTF-8 with U+FFFD. Each of those is refused here, with where and how to fix it.
 *
 * What does what:
 * - `TextDecoder('utf-8', { fatal: true, ignoreBOM: true })`: invalid UTF-8 is an error, and a BOM
 *   stays in the text, so JSON.parse refuses it (RFC 8259 forbids sending one);
 * - `JSON.parse` (native, iterative-safe) finds syntax errors, and `jsonFlaw` (core/json-hygiene.ts)
 *   bounds nesting and size before anything recursive runs on the document;
 * - one pass over the text (`textIsExact`) proves most bodies free of duplicate keys and unsafe
 *   numbers without a tree; only a body it cannot clear is parsed again, by
 * - `@humanwhocodes/momoa`, whose syntax tree keeps every member and each number's exact text, so
 *   duplicate keys (even with equal values) are seen and named with their path;
 * - `lossless-json`'s `getUnsafeNumberReason` says whether a number's text survives as a 64-bit
 *   float. Only the walk that joins the two is written here.
 *
 * Reusable: chat routes that read raw bodies call `parseStrictJson` themselves.
 */
import { type AnyNode, parse as parseTree } from '@humanwhocodes/momoa';
import { getUnsafeNumberReason } from 'lossless-json';
import { type JsonFlawKind, jsonFlaw } from '../core/json-hygiene.ts';

export interface StrictJsonLimits {
  /** Deepest nesting of objects and arrays, the root being level 1. */
  readonly maxDepth: number;
  /** Most values in all. @default 100_000 */
  readonly maxValues?: number;
  /** What to say when nesting is too deep (the edge counts depth below the body's own levels). */
  readonly tooDeep?: string;
}

export type StrictJsonProblemCode =
  | 'invalid_utf8'
  | 'syntax'
  | 'duplicate_key'
  | 'unsafe_number'
  | JsonFlawKind;

export interface StrictJsonProblem {
  readonly code: StrictJsonProblemCode;
  /** Where, as `(body).a.b[2]`; `(body)` for the document itself. */
  readonly path: string;
  readonly message: string;
}

export type StrictJsonResult =
  | { readonly ok: true; readonly value: unknown /** The decoded text. */; readonly text: string }
  | { readonly ok: false; readonly problem: StrictJsonProblem };

const FLAW_MESSAGES: Record<JsonFlawKind, (limits: StrictJsonLimits) => string> = {
  not_finite: () => 'numbers must be finite',
  lone_surrogate: () => 'text must be well-formed Unicode (a lone surrogate was found)',
  lone_surrogate_key: () => 'keys must be well-formed Unicode',
  proto_key: () => 'the key "__proto__" is not allowed',
  too_deep: (limits) =>
    limits.tooDeep ?? `nested deeper than ${limits.maxDepth} levels; flatten the structure`,
  too_many_values: (limits) => `more than ${limits.maxValues ?? 100_000} values; send less data`,
  not_json: () => 'not a JSON value',
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes and parses `body` strictly; the value is plain JSON data (numbers exact as sent). */
export function parseStrictJson(body: Uint8Array | string, limits: StrictJsonLimits): StrictJsonResult {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    try {
      text = utf8.decode(body);
    } catch {
      return fail(
        'invalid_utf8',
        [],
        `the body is not valid UTF-8 (byte ${firstInvalidUtf8(body)}); send the text encoded as UTF-8`,
      );
    }
  }
  const flawLimits = { maxDepth: limits.maxDepth, maxValues: limits.maxValues ?? 100_000 };
  // A body with no flaw is read by plain JSON.parse (a reviver costs several times the parse);
  // anything else, and any syntax error, is read again the careful way below, which words it.
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (value === undefined || jsonFlaw(value, flawLimits) !== undefined) {
    try {
      // Overflowed numbers become 0 for the bounded checks below; the tree walk then names them
      // with their own text. A value is only returned when no number changed, so the swap never
      // shows.
      value = JSON.parse(text, (_key, parsed: unknown) =>
        typeof parsed === 'number' && !Number.isFinite(parsed) ? 0 : parsed,
      );
    } catch (error) {
      // Deep enough to exhaust the stack while reviving: far over any limit.
      if (error instanceof RangeError) return fail('too_deep', [], FLAW_MESSAGES.too_deep(limits));
      const detail = error instanceof Error ? error.message.slice(0, 200) : 'unparseable';
      return fail('syntax', [], `the body is not valid JSON (${detail}); send one JSON value`);
    }
    const flaw = jsonFlaw(value, flawLimits);
    if (flaw) return fail(flaw.kind, flaw.path, FLAW_MESSAGES[flaw.kind](limits));
  }
  // Most bodies have neither duplicate keys nor unsafe numbers, which one pass over the text
  // proves; the syntax tree (which also says where) is built only for a body that may have one.
  if (textIsExact(text, value)) return { ok: true, value, text };
  return exactProblem(text) ?? { ok: true, value, text };
}

/**
 * The duplicate key or unsafe number of `text` (JSON that JSON.parse read, nesting bounded), from
 * its syntax tree, with where it is; undefined when there is neither.
 */
export function exactProblem(text: string): StrictJsonResult | undefined {
  // Nesting is bounded now, so the recursive tree parser and walk below cannot exhaust the stack.
  const tree = parseTree(text, { mode: 'json', ranges: true, tokens: false });
  return walk(tree.body, text, []);
}

/**
 * Whether `text`, which JSON.parse read as `value`, has no duplicate key and no number that would
 * not survive as a 64-bit float — exactly when `exactProblem` finds nothing. Outside strings, every
 * `:` of valid JSON separates one object member, and JSON.parse keeps one property per distinct key
 * of an object: so the text repeats no key of any object exactly when its `:` count equals the
 * parsed value's count of keys. Every number token outside strings is judged by the same test as
 * the tree walk's. Linear, with no tree and no allocation but the number tokens.
 */
export function textIsExact(text: string, value: unknown): boolean {
  let members = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote, over escapes.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x3a) {
      members++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
      if (getUnsafeNumberReason(text.slice(i, end)) !== undefined) return false;
      i = end - 1;
    }
  }
  return members === keyCount(value);
}

/** Digits, `.`, `e`, `E`, `+`, `-`: what may follow the first character of a JSON number. */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/** How many keys the objects in a parsed JSON value have, all together (nesting already bounded). */
function keyCount(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const element of value) count += keyCount(element);
    return count;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    count += 1 + keyCount((value as Record<string, unknown>)[key]);
  }
  return count;
}

function walk(node: AnyNode, text: string, path: (string | number)[]): StrictJsonResult | undefined {
  switch (node.type) {
    case 'Object': {
      const seen = new Set<string>();
      for (const member of node.members) {
        const key = member.name.type === 'String' ? member.name.value : member.name.name;
        if (seen.has(key)) {
          return fail(
            'duplicate_key',
            path,
            `the key ${JSON.stringify(key)} appears more than once; parsers disagree on which one counts, so send each key once`,
          );
        }
        seen.add(key);
        path.push(key);
        const found = walk(member.value, text, path);
        path.pop();
        if (found) return found;
      }
      return undefined;
    }
    case 'Array': {
      for (let i = 0; i < node.elements.length; i++) {
        path.push(i);
        const element = node.elements[i];
        const found = element ? walk(element.value, text, path) : undefined;
        path.pop();
        if (found) return found;
      }
      return undefined;
    }
    case 'Number': {
      const range = node.range;
      const raw = range ? text.slice(range[0], range[1]) : String(node.value);
      const message = unsafeNumberMessage(raw);
      return message ? fail('unsafe_number', path, message) : undefined;
    }
    default:
      return undefined;
  }
}

/** Why `raw` (a JSON number's text) would not reach every reader as written, or undefined. */
export function unsafeNumberMessage(raw: string): string | undefined {
  const reason = getUnsafeNumberReason(raw);
  if (reason === undefined) return undefined;
  const shown = raw.length > 40 ? `${raw.slice(0, 37)}...` : raw;
  const fix = 'send it as a string';
  switch (reason) {
    case 'overflow':
      return `${shown} is too large for a 64-bit float and would become Infinity; ${fix}`;
    case 'underflow':
      return `${shown} is too small for a 64-bit float and would become 0; ${fix}`;
    case 'truncate_integer':
      return `${shown} is an integer outside ±9007199254740991 (2^53 − 1) and would be stored as ${Number(raw)}; ${fix}`;
    default: {
      const number = Number(raw);
      return Number.isInteger(number)
        ? `${shown} is an integer outside ±9007199254740991 (2^53 − 1) and would be stored as ${number}; ${fix}`
        : `${shown} has more digits than a 64-bit float holds and would be stored as ${number}; ${fix}`;
    }
  }
}

function fail(
  code: StrictJsonProblemCode,
  path: readonly (string | number)[],
  message: string,
): { ok: false; problem: StrictJsonProblem } {
  const where = path.reduce<string>(
    (text, step) => (typeof step === 'number' ? `${text}[${step}]` : `${text}.${step}`),
    '(body)',
  );
  return { ok: false, problem: { code, path: where, message } };
}

/** The offset of the first byte that is not valid UTF-8 (for the message only). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let low = 0;
  let high = bytes.length;
  // The longest prefix that is valid UTF-8 or ends inside a sequence (prefixes of it are too).
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      low = mid;
    } catch {
      high = mid - 1;
    }
  }
  return low;
}
