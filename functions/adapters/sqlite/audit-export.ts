/**
 * Exports the local gateway's audit log (SQLite) to the archive layout the AWS archiver writes:
 * CloudEvents JSON Lines objects under `events/…` and a checkpoint per object under
 * `checkpoints/…`, so `ala audit verify --archive <dir>` serves both. Each request's last
 * checkpointed head is the one its request record keeps, not its last stored event: an event lost
 * from the end of a chain shows up as missing.
 */
import Database from 'better-sqlite3';
import {
  type ArchiveEntry,
  buildCheckpoint,
  type ChainHead,
  checkpointKey,
  entryHeads,
  eventsObjectBody,
  eventsObjectKey,
  objectDigest,
} from '../../core/audit-archive.ts';
import type { ActionRequest, AuditEvent } from '../../core/model.ts';

export interface ExportedObject {
  readonly kind: 'events' | 'checkpoint';
  readonly key: string;
  readonly text: string;
}

export interface ExportOptions {
  /** CloudEvents `source` of every line. @default 'ala-gateway/audit/local' */
  readonly source?: string;
  /** Events per object at most. @default 1000 */
  readonly maxEventsPerObject?: number;
}

/**
 * Reads the database at `path` (read-only) and yields its objects in order. Throws a plain Error
 * naming the file when it is not a gateway database.
 */
export function* exportSqliteAudit(path: string, options: ExportOptions = {}): Generator<ExportedObject> {
  const source = options.source ?? 'ala-gateway/audit/local';
  const max = options.maxEventsPerObject ?? 1000;
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new Error(`cannot open ${path} as the gateway's SQLite database: ${(error as Error).message}`);
  }
  try {
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((t) => t.name);
    if (!tables.includes('audit_events') || !tables.includes('requests')) {
      throw new Error(`${path} is not a gateway database (no requests and audit_events tables)`);
    }
    const recorded = new Map<string, ChainHead>();
    for (const row of db.prepare<[], { body: string }>('SELECT body FROM requests').iterate()) {
      const request = JSON.parse(row.body) as ActionRequest;
      recorded.set(request.id, { request_id: request.id, seq: request.auditSeq, hash: request.auditHead });
    }
    const lastSeq = new Map<string, number>();
    for (const row of db
      .prepare<[], { request_id: string; last: number }>(
        'SELECT request_id, MAX(seq) AS last FROM audit_events GROUP BY request_id',
      )
      .iterate()) {
      lastSeq.set(row.request_id, row.last);
    }
    let position = 0;
    let chunk: ArchiveEntry[] = [];
    const flush = (extraHeads: readonly ChainHead[]): ExportedObject[] => {
      const body = eventsObjectBody(chunk, source);
      const key = eventsObjectKey(chunk);
      // A chain that ends in this object is vouched for with the head its request record keeps.
      const heads = entryHeads(chunk).map((head) =>
        lastSeq.get(head.request_id) === head.seq ? (recorded.get(head.request_id) ?? head) : head,
      );
      const checkpoint = buildCheckpoint(
        source,
        [{ key, sha256: objectDigest(body), lines: chunk.length }],
        [...heads, ...extraHeads],
      );
      const out: ExportedObject[] = [
        { kind: 'events', key, text: body },
        { kind: 'checkpoint', key: checkpointKey(chunk), text: `${JSON.stringify(checkpoint)}\n` },
      ];
      chunk = [];
      return out;
    };
    for (const row of db
      .prepare<[], { body: string }>('SELECT body FROM audit_events ORDER BY request_id, seq')
      .iterate()) {
      position += 1;
      chunk.push({
        kind: 'event',
        change: 'INSERT',
        position: String(position),
        event: JSON.parse(row.body) as AuditEvent,
      });
      if (chunk.length >= max) yield* flush([]);
    }
    // Requests whose record has a head but whose events are all gone still get checkpointed.
    const orphans = [...recorded.values()].filter((head) => head.seq > 0 && !lastSeq.has(head.request_id));
    if (chunk.length > 0) yield* flush(orphans);
    else if (orphans.length > 0) {
      const checkpoint = buildCheckpoint(source, [], orphans);
      yield {
        kind: 'checkpoint',
        key: `checkpoints/orphans-${String(position).padStart(40, '0')}.json`,
        text: `${JSON.stringify(checkpoint)}\n`,
      };
    }
  } finally {
    db.close();
  }
}
