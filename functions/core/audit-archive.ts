/**
 * The audit archive's format, pure: CloudEvents 1.0 lines around audit events, the object key
 * layout, checkpoints with a Merkle root over request heads, and the verifier that rebuilds every
 * request's chain from an archive (S3 or a local copy of it) and checks it against the checkpoints.
 * The archiver Lambda and the local export write this format; `ala audit verify --archive` reads it.
 */
import { createHash } from 'node:crypto';
import { type ChainProblem, verifyChain } from './audit.ts';
import { canonicalize, sha256 } from './canonical.ts';
import type { AuditEvent } from './model.ts';

/** CloudEvents `type` prefix; the audit event's own type follows, e.g. `ala.audit.request.approved`. */
export const CLOUDEVENT_TYPE_PREFIX = 'ala.audit.';
/** The type of an archive line recording that an audit item was deleted from the table. */
export const REMOVED_TYPE = `${CLOUDEVENT_TYPE_PREFIX}item.removed`;
/** The type of an archive line holding a table item that is not an audit event (kept verbatim). */
export const UNREADABLE_TYPE = `${CLOUDEVENT_TYPE_PREFIX}item.unreadable`;
export const CHECKPOINT_KIND = 'ala.audit.checkpoint';
export const EVENTS_PREFIX = 'events/';
export const CHECKPOINTS_PREFIX = 'checkpoints/';
/** Width the first/last position numbers are padded to in object names, so names sort in order. */
const POSITION_WIDTH = 40;

/** How a table write reached the archive: INSERT is the only one the gateway ever makes. */
export type ChangeKind = 'INSERT' | 'MODIFY' | 'REMOVE';

/** One archive line: a CloudEvents 1.0 envelope (structured mode, JSON). */
export interface AuditCloudEvent {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  /** Extension attribute: the table change that produced the line (INSERT, MODIFY, REMOVE). */
  readonly alachange: ChangeKind;
  /** Extension attribute: the stream position of that change (or the export's running number). */
  readonly alaposition: string;
  readonly data: Record<string, unknown>;
}

/** A change read from the audit table's stream (or an export), before it is written. */
export type ArchiveEntry =
  | {
      readonly kind: 'event';
      readonly change: 'INSERT' | 'MODIFY';
      readonly position: string;
      readonly event: AuditEvent;
    }
  | {
      readonly kind: 'removed';
      readonly position: string;
      readonly time: string;
      readonly requestId: string;
      readonly seq: number;
    }
  | {
      readonly kind: 'unreadable';
      readonly change: ChangeKind;
      readonly position: string;
      readonly time: string;
      readonly reason: string;
      readonly item: Record<string, unknown>;
    };

/** The CloudEvents envelope of an entry; deterministic, so a redelivered change gives the same bytes. */
export function toCloudEvent(entry: ArchiveEntry, source: string): AuditCloudEvent {
  const common = {
    specversion: '1.0',
    source,
    datacontenttype: 'application/json',
    alaposition: entry.position,
  } as const;
  switch (entry.kind) {
    case 'event': {
      const e = entry.event;
      return {
        ...common,
        id:
          entry.change === 'INSERT'
            ? `${e.request_id}/${e.seq}`
            : `${e.request_id}/${e.seq}/${entry.position}`,
        type: `${CLOUDEVENT_TYPE_PREFIX}${e.type}`,
        subject: e.request_id,
        time: e.time,
        alachange: entry.change,
        data: { ...e },
      };
    }
    case 'removed':
      return {
        ...common,
        id: `${entry.requestId}/${entry.seq}/${entry.position}`,
        type: REMOVED_TYPE,
        subject: entry.requestId,
        time: entry.time,
        alachange: 'REMOVE',
        data: { request_id: entry.requestId, seq: entry.seq },
      };
    case 'unreadable':
      return {
        ...common,
        id: `unreadable/${entry.position}`,
        type: UNREADABLE_TYPE,
        subject: typeof entry.item.request_id === 'string' ? entry.item.request_id : '(unknown)',
        time: entry.time,
        alachange: entry.change,
        data: { reason: entry.reason, item: entry.item },
      };
  }
}

/** The hour partition of a time: `2026/11/29/17`. Invalid times go to `unknown-time`. */
export function hourPartition(time: string): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return 'unknown-time';
  const iso = date.toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}`;
}

function padPosition(position: string): string {
  if (!/^\d{1,40}$/.test(position)) {
    throw new RangeError(
      `an archive position must be 1 to 40 decimal digits, got ${JSON.stringify(position)}`,
    );
  }
  return position.padStart(POSITION_WIDTH, '0');
}

/**
 * `events/YYYY/MM/DD/HH/<first>-<last>.jsonl`: the hour of the first entry, and the stream positions
 * of the first and last entries. The same entries always give the same key.
 */
export function eventsObjectKey(entries: readonly ArchiveEntry[]): string {
  return `${EVENTS_PREFIX}${objectStem(entries)}.jsonl`;
}

/** `checkpoints/…/<first>-<last>.json`, next to the events object it vouches for. */
export function checkpointKey(entries: readonly ArchiveEntry[]): string {
  return `${CHECKPOINTS_PREFIX}${objectStem(entries)}.json`;
}

function objectStem(entries: readonly ArchiveEntry[]): string {
  const first = entries[0];
  const last = entries[entries.length - 1];
  if (!first || !last) throw new RangeError('an archive object needs at least one entry');
  const time = first.kind === 'event' ? first.event.time : first.time;
  return `${hourPartition(time)}/${padPosition(first.position)}-${padPosition(last.position)}`;
}

/** The JSON Lines body of an events object (one envelope per line, newline-terminated). */
export function eventsObjectBody(entries: readonly ArchiveEntry[], source: string): string {
  let body = '';
  for (const entry of entries) body += `${JSON.stringify(toCloudEvent(entry, source))}\n`;
  return body;
}

export interface ChainHead {
  readonly request_id: string;
  readonly seq: number;
  readonly hash: string;
}

export interface CheckpointObjectRef {
  readonly key: string;
  readonly sha256: string;
  readonly lines: number;
}

/** Written to the locked bucket with each events object: the heads it reaches and their Merkle root. */
export interface Checkpoint {
  readonly kind: typeof CHECKPOINT_KIND;
  readonly version: 1;
  readonly source: string;
  /** The events objects this checkpoint vouches for, with the SHA-256 of their bytes. */
  readonly objects: readonly CheckpointObjectRef[];
  /** Each request's latest seq and head hash in those objects (or as the request record keeps it), sorted by request id. */
  readonly heads: readonly ChainHead[];
  /** Merkle root (RFC 6962 tree hashing, SHA-256) over the canonical JSON of the heads in order. */
  readonly merkle_root: string;
}

function digest(...parts: (Uint8Array | string)[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/**
 * The Merkle root of the heads as RFC 6962 computes a tree hash: leaf = H(0x00 ‖ JCS(head)),
 * node = H(0x01 ‖ left ‖ right), split at the largest power of two below n. `sha256:<hex>`.
 */
export function merkleRoot(heads: readonly ChainHead[]): string {
  if (heads.length === 0) return sha256('');
  const leaves = heads.map((h) =>
    digest(LEAF, canonicalize({ request_id: h.request_id, seq: h.seq, hash: h.hash })),
  );
  return `sha256:${treeHash(leaves, 0, leaves.length).toString('hex')}`;
}

/** RFC 6962 §2.1: split at the largest power of two smaller than n. */
function treeHash(leaves: readonly Buffer[], start: number, count: number): Buffer {
  if (count === 1) return leaves[start] as Buffer;
  let split = 1;
  while (split * 2 < count) split *= 2;
  return digest(NODE, treeHash(leaves, start, split), treeHash(leaves, start + split, count - split));
}

/** Sorted, one head per request: the highest seq wins. */
export function headsOf(heads: Iterable<ChainHead>): ChainHead[] {
  const byRequest = new Map<string, ChainHead>();
  for (const head of heads) {
    const known = byRequest.get(head.request_id);
    if (!known || head.seq > known.seq) byRequest.set(head.request_id, head);
  }
  return [...byRequest.values()].sort((a, b) =>
    a.request_id < b.request_id ? -1 : a.request_id > b.request_id ? 1 : 0,
  );
}

/** The heads the entries reach: the last event per request. */
export function entryHeads(entries: readonly ArchiveEntry[]): ChainHead[] {
  const heads: ChainHead[] = [];
  for (const entry of entries) {
    if (entry.kind === 'event') {
      heads.push({ request_id: entry.event.request_id, seq: entry.event.seq, hash: entry.event.hash });
    }
  }
  return headsOf(heads);
}

export function buildCheckpoint(
  source: string,
  objects: readonly CheckpointObjectRef[],
  heads: readonly ChainHead[],
): Checkpoint {
  const sorted = headsOf(heads);
  return {
    kind: CHECKPOINT_KIND,
    version: 1,
    source,
    objects: [...objects],
    heads: sorted,
    merkle_root: merkleRoot(sorted),
  };
}

/** `sha256:<hex>` of an object's bytes: what checkpoints record and S3's checksum carries (base64). */
export function objectDigest(body: string): string {
  return sha256(body);
}

/** The base64 SHA-256 S3 expects in `x-amz-checksum-sha256`. */
export function base64Sha256(body: string): string {
  return digest(body).toString('base64');
}

// ---------------------------------------------------------------------------------------------
// Verification

export type ArchiveProblemCode =
  | ChainProblem['code']
  | 'rewritten'
  | 'removed'
  | 'unreadable'
  | 'object_modified'
  | 'object_missing'
  | 'object_unvouched'
  | 'checkpoint_invalid'
  | 'expectation_unmet';

export interface ArchiveProblem {
  readonly code: ArchiveProblemCode;
  /** The request, when the problem belongs to one. */
  readonly request_id?: string;
  readonly seq?: number;
  /** The object (events or checkpoint) the problem was found in. */
  readonly key?: string;
  readonly message: string;
}

export type RequestStatus = 'complete' | 'missing_events' | 'broken';

export interface RequestResult {
  readonly request_id: string;
  readonly status: RequestStatus;
  /** Distinct events found. */
  readonly count: number;
  /** The last event's seq and hash as found. */
  readonly head?: { readonly seq: number; readonly hash: string };
  /** The highest head any checkpoint (or expectation) demands. */
  readonly expected?: { readonly seq: number; readonly hash?: string };
  /** The first seq that is wrong, when not complete. */
  readonly first_bad_seq?: number;
  readonly problems: readonly ArchiveProblem[];
}

export interface ArchiveReport {
  readonly ok: boolean;
  readonly requests: readonly RequestResult[];
  /** Problems of the archive as a whole (objects, checkpoints). */
  readonly problems: readonly ArchiveProblem[];
  readonly objects: number;
  readonly checkpoints: number;
  readonly events: number;
  /** Identical copies of an event found more than once (a redelivered batch); harmless, counted. */
  readonly duplicates: number;
  /** Merkle root over every request's verified head: record it to detect a later deletion of whole objects. */
  readonly digest: string;
}

/** What the auditor expects of one request, from a record kept outside the archive. */
export interface HeadExpectation {
  readonly seq?: number;
  readonly hash?: string;
}

interface Located {
  readonly event: Record<string, unknown>;
  readonly key: string;
  readonly line: number;
}

const MISSING_CODES: ReadonlySet<string> = new Set([
  'seq_gap',
  'head_mismatch',
  'object_missing',
  'expectation_unmet',
]);

/**
 * Rebuilds every request's chain from the objects it is given, in archive order (objects by their
 * first position, lines in order), and checks each against the checkpoints: feed objects and
 * checkpoints in any order, then call `report`. Holds each event once.
 */
export class ArchiveVerifier {
  readonly #chains = new Map<string, Located[]>();
  readonly #seen = new Map<string, Located>();
  readonly #problems: ArchiveProblem[] = [];
  readonly #requestProblems = new Map<string, ArchiveProblem[]>();
  readonly #objects = new Map<string, { digest: string; lines: number; order: [bigint, string] }>();
  readonly #pending: { key: string; text: string; order: [bigint, string] }[] = [];
  readonly #vouched = new Map<string, { sha256: string; checkpoint: string }>();
  readonly #checkpointHeads = new Map<string, { seq: number; hash: string; key: string }[]>();
  #checkpoints = 0;
  #duplicates = 0;
  #events = 0;

  /** An events object (JSON Lines of CloudEvents envelopes, or of bare events). */
  addObject(key: string, text: string): void {
    const order = objectOrder(key);
    this.#objects.set(key, { digest: objectDigest(text), lines: 0, order });
    this.#pending.push({ key, text, order });
  }

  addCheckpoint(key: string, text: string): void {
    this.#checkpoints += 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      this.#problems.push({
        code: 'checkpoint_invalid',
        key,
        message: `not JSON: ${(error as Error).message}`,
      });
      return;
    }
    const checkpoint = parseCheckpoint(parsed);
    if (typeof checkpoint === 'string') {
      this.#problems.push({ code: 'checkpoint_invalid', key, message: checkpoint });
      return;
    }
    const root = merkleRoot(headsOf(checkpoint.heads));
    if (root !== checkpoint.merkle_root || headsOf(checkpoint.heads).length !== checkpoint.heads.length) {
      this.#problems.push({
        code: 'checkpoint_invalid',
        key,
        message: `its heads give Merkle root ${root}, but it records ${checkpoint.merkle_root}: the checkpoint was altered`,
      });
      return;
    }
    for (const ref of checkpoint.objects) this.#vouched.set(ref.key, { sha256: ref.sha256, checkpoint: key });
    for (const head of checkpoint.heads) {
      const list = this.#checkpointHeads.get(head.request_id) ?? [];
      list.push({ seq: head.seq, hash: head.hash, key });
      this.#checkpointHeads.set(head.request_id, list);
    }
  }

  /**
   * Verifies everything fed so far. `expect` adds heads kept outside the archive (`--expect-head`,
   * `--expect-seq`): the request's chain must end exactly there. `only` limits the report to these
   * requests (archive-wide problems are still reported).
   */
  report(
    options: { expect?: ReadonlyMap<string, HeadExpectation>; only?: ReadonlySet<string> } = {},
  ): ArchiveReport {
    this.#pending.sort((a, b) => compareOrder(a.order, b.order));
    for (const { key, text } of this.#pending.splice(0)) this.#readObject(key, text);
    // Reading problems stay; the object checks are redone on each call, so a second report agrees.
    const archiveProblems = [...this.#problems];
    for (const [key, object] of this.#objects) {
      const vouched = this.#vouched.get(key);
      if (!vouched) {
        archiveProblems.push({
          code: 'object_unvouched',
          key,
          message:
            'no checkpoint vouches for this events object: it was added after the fact, or its checkpoint was removed',
        });
      } else if (vouched.sha256 !== object.digest) {
        archiveProblems.push({
          code: 'object_modified',
          key,
          message: `its bytes hash to ${object.digest}, but checkpoint ${vouched.checkpoint} recorded ${vouched.sha256}: the object was changed`,
        });
      }
    }
    for (const [key, vouched] of this.#vouched) {
      if (!this.#objects.has(key)) {
        archiveProblems.push({
          code: 'object_missing',
          key,
          message: `checkpoint ${vouched.checkpoint} vouches for this events object, but it is not in the archive: it was deleted`,
        });
      }
    }
    const ids = new Set([
      ...this.#chains.keys(),
      ...this.#checkpointHeads.keys(),
      ...(options.expect?.keys() ?? []),
    ]);
    const requests: RequestResult[] = [];
    const verifiedHeads: ChainHead[] = [];
    for (const id of [...ids].sort()) {
      if (options.only && !options.only.has(id)) continue;
      const result = this.#verifyRequest(id, options.expect?.get(id));
      requests.push(result);
      if (result.head) verifiedHeads.push({ request_id: id, ...result.head });
    }
    return {
      ok: archiveProblems.length === 0 && requests.every((r) => r.status === 'complete'),
      requests,
      problems: archiveProblems,
      objects: this.#objects.size,
      checkpoints: this.#checkpoints,
      events: this.#events,
      duplicates: this.#duplicates,
      digest: merkleRoot(headsOf(verifiedHeads)),
    };
  }

  #requestProblem(problem: ArchiveProblem & { request_id: string }): void {
    const list = this.#requestProblems.get(problem.request_id) ?? [];
    list.push(problem);
    this.#requestProblems.set(problem.request_id, list);
  }

  #readObject(key: string, text: string): void {
    let line = 0;
    for (const raw of text.split('\n')) {
      line += 1;
      if (raw.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        this.#problems.push({
          code: 'unreadable',
          key,
          message: `line ${line} is not JSON: ${(error as Error).message}`,
        });
        continue;
      }
      const envelope = isRecord(value) && typeof value.specversion === 'string' ? value : undefined;
      const type = typeof envelope?.type === 'string' ? envelope.type : undefined;
      const data = envelope ? envelope.data : value;
      if (type === REMOVED_TYPE && isRecord(data)) {
        const requestId = String(data.request_id);
        this.#requestProblem({
          code: 'removed',
          request_id: requestId,
          seq: typeof data.seq === 'number' ? data.seq : 0,
          key,
          message: `the table item of seq ${String(data.seq)} was deleted (line ${line})`,
        });
        continue;
      }
      if (
        type === UNREADABLE_TYPE ||
        !isRecord(data) ||
        typeof data.request_id !== 'string' ||
        typeof data.seq !== 'number'
      ) {
        const subject = typeof envelope?.subject === 'string' ? envelope.subject : undefined;
        const problem = {
          code: 'unreadable' as const,
          key,
          message: `line ${line} holds a table item that is not an audit event`,
        };
        if (subject && subject !== '(unknown)') this.#requestProblem({ ...problem, request_id: subject });
        else this.#problems.push(problem);
        continue;
      }
      this.#events += 1;
      const requestId = data.request_id;
      const id = `${requestId}\u0000${data.seq}`;
      const known = this.#seen.get(id);
      if (known) {
        // Compared canonically only when a seq comes twice: key order or spacing is no difference.
        if (canonicalOrRaw(known.event, raw) === canonicalOrRaw(data, raw)) {
          this.#duplicates += 1;
        } else {
          this.#requestProblem({
            code: 'rewritten',
            request_id: requestId,
            seq: data.seq,
            key,
            message: `seq ${data.seq} appears with different content in ${known.key} line ${known.line} and ${key} line ${line}: an event was rewritten or forged`,
          });
        }
        continue;
      }
      const located = { event: data, key, line };
      this.#seen.set(id, located);
      const chain = this.#chains.get(requestId) ?? [];
      chain.push(located);
      this.#chains.set(requestId, chain);
    }
  }

  #verifyRequest(id: string, expectation: HeadExpectation | undefined): RequestResult {
    const chain = this.#chains.get(id) ?? [];
    const problems: ArchiveProblem[] = [...(this.#requestProblems.get(id) ?? [])];
    const events = chain.map((c) => c.event);
    const heads = this.#checkpointHeads.get(id) ?? [];
    let expected: { seq: number; hash?: string } | undefined;
    for (const head of heads)
      if (!expected || head.seq > expected.seq) expected = { seq: head.seq, hash: head.hash };
    const verdict = verifyChain(events, { requestId: id });
    if (!verdict.ok) {
      // After a gap the next event cannot link to the one before it: the gap explains that.
      const gaps = new Set(verdict.problems.filter((p) => p.code === 'seq_gap').map((p) => p.seq));
      for (const p of verdict.problems) {
        if (p.code === 'malformed' && events.length === 0) continue;
        if (p.code === 'prev_hash_mismatch' && gaps.has(p.seq)) continue;
        const index = chain.findIndex((c) => c.event.seq === p.seq);
        const at = chain[index];
        problems.push({
          code: p.code,
          request_id: id,
          // A gap is named by the seq that should have been there (the first one missing or out of place).
          seq: p.code === 'seq_gap' && index >= 0 ? index + 1 : p.seq,
          ...(at ? { key: at.key } : {}),
          message: at ? `${p.message} (${at.key} line ${at.line})` : p.message,
        });
      }
    }
    const bySeq = new Map<number, Located>();
    chain.forEach((c, index) => {
      if (c.event.seq === index + 1) bySeq.set(index + 1, c);
    });
    const last = chain[chain.length - 1]?.event;
    const lastSeq = typeof last?.seq === 'number' ? last.seq : 0;
    for (const head of heads) {
      const at = bySeq.get(head.seq);
      if (!at) {
        problems.push({
          code: 'head_mismatch',
          request_id: id,
          seq: Math.min(lastSeq + 1, head.seq),
          key: head.key,
          message:
            lastSeq < head.seq
              ? `checkpoint ${head.key} records seq ${head.seq}, but the chain ends at seq ${lastSeq}: events ${lastSeq + 1}..${head.seq} are missing`
              : `checkpoint ${head.key} records seq ${head.seq}, which is not in its place in the chain`,
        });
      } else if (at.event.hash !== head.hash) {
        problems.push({
          code: 'head_mismatch',
          request_id: id,
          seq: head.seq,
          key: head.key,
          message: `checkpoint ${head.key} records ${head.hash} for seq ${head.seq}, but the archive holds ${String(at.event.hash)}`,
        });
      }
    }
    if (expected && lastSeq > expected.seq) {
      problems.push({
        code: 'head_mismatch',
        request_id: id,
        seq: expected.seq + 1,
        message: `the chain goes on to seq ${lastSeq}, past the last checkpointed head seq ${expected.seq}: events were added without a checkpoint`,
      });
    }
    if (expectation) {
      const lastHash = typeof last?.hash === 'string' ? last.hash : undefined;
      if (expectation.seq !== undefined && expectation.seq !== lastSeq) {
        problems.push({
          code: 'expectation_unmet',
          request_id: id,
          seq: Math.min(lastSeq, expectation.seq) + 1,
          message: `expected the chain to end at seq ${expectation.seq}, but it ends at seq ${lastSeq}`,
        });
      }
      if (expectation.hash !== undefined && expectation.hash !== lastHash) {
        problems.push({
          code: 'expectation_unmet',
          request_id: id,
          seq: lastSeq,
          message: `expected the head ${expectation.hash}, but the chain ends with ${lastHash ?? '(no event)'}`,
        });
      }
      expected = {
        seq: expectation.seq ?? expected?.seq ?? lastSeq,
        ...(expectation.hash ? { hash: expectation.hash } : {}),
      };
    }
    if (events.length === 0 && problems.length === 0) {
      problems.push({
        code: 'seq_gap',
        request_id: id,
        seq: 1,
        message: 'no event of this request is in the archive',
      });
    }
    const seqs = problems.map((p) => p.seq).filter((s): s is number => typeof s === 'number' && s > 0);
    const status: RequestStatus =
      problems.length === 0
        ? 'complete'
        : problems.every((p) => MISSING_CODES.has(p.code))
          ? 'missing_events'
          : 'broken';
    return {
      request_id: id,
      status,
      count: events.length,
      ...(last && typeof last.hash === 'string' ? { head: { seq: lastSeq, hash: last.hash } } : {}),
      ...(expected ? { expected } : {}),
      ...(seqs.length > 0 ? { first_bad_seq: Math.min(...seqs) } : {}),
      problems,
    };
  }
}

function canonicalOrRaw(value: unknown, raw: string): string {
  try {
    return canonicalize(value);
  } catch {
    return raw;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects are read in the order of their first position (`…/<first>-<last>.jsonl`), then by key. */
function objectOrder(key: string): [bigint, string] {
  const match = /(\d{1,40})-\d{1,40}\.jsonl?$/.exec(key);
  return [match?.[1] ? BigInt(match[1]) : 0n, key];
}

function compareOrder(a: [bigint, string], b: [bigint, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

function parseCheckpoint(value: unknown): Checkpoint | string {
  if (!isRecord(value) || value.kind !== CHECKPOINT_KIND)
    return `not a checkpoint (kind must be ${CHECKPOINT_KIND})`;
  if (value.version !== 1) return `checkpoint version ${String(value.version)} is not supported (expected 1)`;
  if (!Array.isArray(value.heads) || !Array.isArray(value.objects) || typeof value.merkle_root !== 'string') {
    return 'a checkpoint needs heads, objects and merkle_root';
  }
  for (const head of value.heads) {
    if (
      !isRecord(head) ||
      typeof head.request_id !== 'string' ||
      typeof head.seq !== 'number' ||
      typeof head.hash !== 'string'
    ) {
      return 'every head needs request_id, seq and hash';
    }
  }
  for (const ref of value.objects) {
    if (!isRecord(ref) || typeof ref.key !== 'string' || typeof ref.sha256 !== 'string') {
      return 'every object reference needs key and sha256';
    }
  }
  return value as unknown as Checkpoint;
}
