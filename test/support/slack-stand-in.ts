/**
 * A local HTTP stand-in for the Slack Web API (pointed at through the client's `slackApiUrl`), and
 * callbacks signed exactly as Slack signs them. Every call's payload is checked against Slack's
 * documented Block Kit and method limits; a call that breaks one is answered as Slack answers
 * (`ok: false`, `invalid_blocks`) and recorded in `violations`, which tests assert is empty.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SlackCall {
  readonly method: string;
  readonly token: string | undefined;
  /** Form fields, with `blocks`, `view` and `attachments` parsed from their JSON. */
  readonly args: Record<string, unknown>;
  readonly at: number;
}

type Json = Record<string, unknown>;

const LIMITS = {
  messageText: 40_000,
  blocksPerMessage: 50,
  blocksPerModal: 100,
  sectionText: 3000,
  sectionField: 2000,
  sectionFields: 10,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  inputLabel: 2000,
  inputMaxLength: 3000,
} as const;

/** Slack's limits on a list of blocks (Block Kit reference); returns what is wrong, if anything. */
export function blockProblems(blocks: unknown, surface: 'message' | 'modal'): string[] {
  const problems: string[] = [];
  if (!Array.isArray(blocks)) return ['blocks is not an array'];
  const max = surface === 'message' ? LIMITS.blocksPerMessage : LIMITS.blocksPerModal;
  if (blocks.length > max) problems.push(`${blocks.length} blocks (at most ${max})`);
  const ids = new Set<string>();
  blocks.forEach((raw, i) => {
    const block = raw as Json;
    const at = `blocks[${i}] (${String(block.type)})`;
    const text = (value: unknown, limit: number, where: string, types = ['plain_text', 'mrkdwn']) => {
      const object = value as Json | undefined;
      if (!object || typeof object.text !== 'string') return problems.push(`${where}: no text object`);
      if (!types.includes(String(object.type))) problems.push(`${where}: text type ${String(object.type)}`);
      if (object.text.length === 0) problems.push(`${where}: empty text`);
      if (object.text.length > limit)
        problems.push(`${where}: ${object.text.length} characters (at most ${limit})`);
      return 0;
    };
    if (block.block_id !== undefined) {
      const id = String(block.block_id);
      if (id.length > LIMITS.blockId) problems.push(`${at}: block_id over ${LIMITS.blockId}`);
      if (ids.has(id)) problems.push(`${at}: duplicate block_id ${id}`);
      ids.add(id);
    }
    switch (block.type) {
      case 'header':
        text(block.text, LIMITS.headerText, `${at}.text`, ['plain_text']);
        break;
      case 'section': {
        if (block.text === undefined && block.fields === undefined)
          problems.push(`${at}: neither text nor fields`);
        if (block.text !== undefined) text(block.text, LIMITS.sectionText, `${at}.text`);
        if (block.fields !== undefined) {
          const fields = block.fields as unknown[];
          if (fields.length > LIMITS.sectionFields) problems.push(`${at}: ${fields.length} fields`);
          fields.forEach((field, j) => {
            text(field, LIMITS.sectionField, `${at}.fields[${j}]`);
          });
        }
        break;
      }
      case 'context': {
        const elements = block.elements as unknown[];
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > LIMITS.contextElements) {
          problems.push(`${at}: 1 to ${LIMITS.contextElements} elements`);
        } else {
          elements.forEach((element, j) => {
            text(element, LIMITS.sectionText, `${at}.elements[${j}]`);
          });
        }
        break;
      }
      case 'actions': {
        const elements = block.elements as Json[];
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > LIMITS.actionsElements) {
          problems.push(`${at}: 1 to ${LIMITS.actionsElements} elements`);
          break;
        }
        elements.forEach((element, j) => {
          const where = `${at}.elements[${j}]`;
          if (element.type !== 'button') return;
          text(element.text, LIMITS.buttonText, `${where}.text`, ['plain_text']);
          if (String(element.action_id ?? '').length > LIMITS.actionId) problems.push(`${where}: action_id`);
          if (String(element.value ?? '').length > LIMITS.buttonValue) problems.push(`${where}: value`);
          if (element.style !== undefined && !['primary', 'danger'].includes(String(element.style))) {
            problems.push(`${where}: style ${String(element.style)}`);
          }
        });
        break;
      }
      case 'input': {
        text(block.label, LIMITS.inputLabel, `${at}.label`, ['plain_text']);
        const element = block.element as Json;
        if (element?.type === 'plain_text_input' && Number(element.max_length ?? 0) > LIMITS.inputMaxLength) {
          problems.push(`${at}: max_length over ${LIMITS.inputMaxLength}`);
        }
        if (surface !== 'modal') problems.push(`${at}: input blocks belong in modals`);
        break;
      }
      case 'divider':
        break;
      default:
        problems.push(`${at}: block type the gateway does not use`);
    }
  });
  return problems;
}

function modalProblems(view: unknown): string[] {
  const v = view as Json | undefined;
  if (v?.type !== 'modal') return ['view is not a modal'];
  const problems = blockProblems(v.blocks, 'modal');
  const short = (value: unknown, where: string) => {
    const object = value as Json | undefined;
    if (object === undefined) return;
    if (object.type !== 'plain_text') problems.push(`${where}: must be plain_text`);
    if (String(object.text ?? '').length > LIMITS.modalTitle)
      problems.push(`${where}: over ${LIMITS.modalTitle}`);
  };
  if (v.title === undefined) problems.push('view.title is required');
  short(v.title, 'view.title');
  short(v.submit, 'view.submit');
  short(v.close, 'view.close');
  if (String(v.private_metadata ?? '').length > LIMITS.privateMetadata)
    problems.push('private_metadata too long');
  if (String(v.callback_id ?? '').length > LIMITS.callbackId) problems.push('callback_id too long');
  return problems;
}

export class SlackStandIn {
  readonly calls: SlackCall[] = [];
  readonly violations: { method: string; problems: string[] }[] = [];
  readonly #server: Server;
  readonly #token: string;
  #ts = 1_700_000_000;
  #failures = new Map<string, string>();
  #listeners = new Set<() => void>();
  #appToken: string | undefined;
  #sockets = new Set<Socket>();
  #acks = new Map<string, (payload: unknown) => void>();
  url = '';

  /** Socket Mode connections open now (after Slack's `hello`). */
  get socketConnections(): number {
    return this.#sockets.size;
  }

  /**
   * Sends an `interactive` envelope over every Socket Mode connection, as Slack does for a click,
   * and resolves with the payload the app acknowledged it with.
   */
  sendInteractive(payload: unknown, timeoutMs = 10_000): Promise<unknown> {
    const envelope = randomUUID();
    const message = JSON.stringify({
      envelope_id: envelope,
      type: 'interactive',
      payload,
      accepts_response_payload: true,
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#acks.delete(envelope);
        reject(new Error(`no ack for envelope ${envelope} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#acks.set(envelope, (ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
      for (const socket of this.#sockets) socket.write(frame(0x1, Buffer.from(message)));
    });
  }

  /** A minimal WebSocket server (RFC 6455: handshake, text, ping, close) for Socket Mode. */
  #upgrade(req: IncomingMessage, socket: Socket): void {
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => this.#sockets.delete(socket));
    // An HTTP server's sockets are half-open: a client gone without a close frame (a killed
    // process) only ends its side, and 'close' would never come.
    socket.on('end', () => {
      this.#sockets.delete(socket);
      socket.end();
    });
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const parsed = readFrame(buffer);
        if (!parsed) return;
        buffer = buffer.subarray(parsed.size);
        if (parsed.opcode === 0x8) {
          socket.end(frame(0x8, Buffer.alloc(0)));
          return;
        }
        if (parsed.opcode === 0x9) socket.write(frame(0xa, parsed.payload));
        if (parsed.opcode === 0x1) {
          const message = JSON.parse(parsed.payload.toString('utf8')) as {
            envelope_id?: string;
            payload?: unknown;
          };
          const ack = message.envelope_id ? this.#acks.get(message.envelope_id) : undefined;
          if (ack && message.envelope_id) {
            this.#acks.delete(message.envelope_id);
            ack(message.payload);
          }
        }
      }
    });
    socket.write(
      frame(
        0x1,
        Buffer.from(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'stand-in' } })),
      ),
    );
  }

  private constructor(token: string) {
    this.#token = token;
    this.#server = createServer((req, res) => {
      void this.#answer(req).then(
        (body) => {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify(body));
        },
        (error: unknown) => {
          res.writeHead(500);
          res.end(String(error));
        },
      );
    });
  }

  /** Listens on 127.0.0.1 on a port the kernel picks; `url` is the Web API base (`…/api/`). */
  static async start(options: { botToken: string; appToken?: string }): Promise<SlackStandIn> {
    const standIn = new SlackStandIn(options.botToken);
    standIn.#appToken = options.appToken;
    standIn.#server.on('upgrade', (req, socket: Socket) => standIn.#upgrade(req, socket));
    standIn.#server.listen(0, '127.0.0.1');
    await once(standIn.#server, 'listening');
    standIn.url = `http://127.0.0.1:${(standIn.#server.address() as AddressInfo).port}/api/`;
    return standIn;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The next call of `method` answers `ok: false` with `error`. */
  failNext(method: string, error: string): void {
    this.#failures.set(method, error);
  }

  callsOf(method: string, where: (call: SlackCall) => boolean = () => true): SlackCall[] {
    return this.calls.filter((call) => call.method === method && where(call));
  }

  /** Resolves with the first call of `method` matching `where` (now or later). */
  async waitForCall(
    method: string,
    where: (call: SlackCall) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<SlackCall> {
    const found = () => this.calls.find((call) => call.method === method && where(call));
    const now = found();
    if (now) return now;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(check);
        reject(
          new Error(
            `no ${method} call matched within ${timeoutMs} ms (calls: ${this.calls.map((c) => c.method).join(', ')})`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        const call = found();
        if (!call) return;
        clearTimeout(timer);
        this.#listeners.delete(check);
        resolve(call);
      };
      this.#listeners.add(check);
    });
  }

  async #answer(req: IncomingMessage): Promise<Json> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const type = req.headers['content-type'] ?? '';
    const fields: Record<string, unknown> = type.includes('application/json')
      ? (JSON.parse(raw || '{}') as Json)
      : Object.fromEntries(new URLSearchParams(raw));
    for (const key of ['blocks', 'view', 'attachments']) {
      if (typeof fields[key] === 'string') fields[key] = JSON.parse(fields[key] as string);
    }
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : (fields.token as string | undefined);
    const call: SlackCall = { method, token, args: fields, at: performance.now() };
    this.calls.push(call);
    try {
      return this.#respond(call);
    } finally {
      for (const listener of [...this.#listeners]) listener();
    }
  }

  #respond(call: SlackCall): Json {
    const { method, args } = call;
    if (method === 'apps.connections.open') {
      if (!this.#appToken || call.token !== this.#appToken) return { ok: false, error: 'invalid_auth' };
      return {
        ok: true,
        url: `${this.url.replace(/^http/, 'ws').replace(/\/api\/$/, '')}/link/?ticket=standin`,
      };
    }
    if (call.token !== this.#token) return { ok: false, error: 'invalid_auth' };
    const failure = this.#failures.get(method);
    if (failure) {
      this.#failures.delete(method);
      return { ok: false, error: failure };
    }
    const problems: string[] = [];
    switch (method) {
      case 'chat.postMessage':
      case 'chat.update':
      case 'chat.postEphemeral': {
        if (typeof args.channel !== 'string' || args.channel === '') problems.push('channel is required');
        if (method === 'chat.update' && typeof args.ts !== 'string') problems.push('ts is required');
        if (method === 'chat.postEphemeral' && typeof args.user !== 'string')
          problems.push('user is required');
        const text = args.text;
        if (text === undefined && args.blocks === undefined) problems.push('text or blocks is required');
        if (typeof text === 'string' && text.length > LIMITS.messageText) problems.push('text over 40,000');
        if (args.blocks !== undefined) problems.push(...blockProblems(args.blocks, 'message'));
        break;
      }
      case 'views.open':
        if (typeof args.trigger_id !== 'string') problems.push('trigger_id is required');
        problems.push(...modalProblems(args.view));
        break;
      default:
        return { ok: false, error: 'unknown_method' };
    }
    if (problems.length > 0) {
      this.violations.push({ method, problems });
      return { ok: false, error: 'invalid_blocks', errors: problems };
    }
    switch (method) {
      case 'chat.postMessage':
        this.#ts += 1;
        return { ok: true, channel: args.channel, ts: `${this.#ts}.000100`, message: {} };
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${this.#ts}.000200` };
      default:
        return { ok: true, view: { id: 'V0STANDIN' } };
    }
  }
}

/** One unmasked WebSocket frame (server to client). */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const head =
    length < 126
      ? Buffer.from([0x80 | opcode, length])
      : length < 65_536
        ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(length)]);
  return Buffer.concat([head, payload]);
}

function bigLength(length: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(length));
  return out;
}

/** One (masked, client to server) frame from the front of `buffer`, or undefined if incomplete. */
function readFrame(buffer: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = (buffer[0] as number) & 0x0f;
  const masked = ((buffer[1] as number) & 0x80) !== 0;
  let length = (buffer[1] as number) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked)
    for (let i = 0; i < payload.length; i++)
      payload[i] = (payload[i] as number) ^ (buffer[maskOffset + (i % 4)] as number);
  return { opcode, payload, size: offset + length };
}

/** Headers and body of an interaction as Slack sends it: a form with the JSON payload, signed. */
export function signedInteraction(
  signingSecret: string,
  payload: unknown,
  options: { timestamp?: number; retry?: number; signature?: string } = {},
): { headers: Record<string, string>; body: string } {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature =
    options.signature ??
    `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature,
      ...(options.retry !== undefined
        ? { 'x-slack-retry-num': String(options.retry), 'x-slack-retry-reason': 'http_timeout' }
        : {}),
    },
    body,
  };
}

/** A click on a card's button, as Slack's block_actions payload carries it (with the message). */
export function buttonClick(options: {
  user: string;
  actionId: string;
  value: string;
  channel: string;
  ts: string;
  blocks?: unknown;
}): Json {
  return {
    type: 'block_actions',
    user: { id: options.user, username: 'someone', team_id: 'T0STANDIN' },
    team: { id: 'T0STANDIN', domain: 'standin' },
    api_app_id: 'A0STANDIN',
    trigger_id: `trigger.${options.user}.${Math.random().toString(36).slice(2)}`,
    response_url: 'https://hooks.slack.invalid/actions/T0/1/x',
    container: { type: 'message', message_ts: options.ts, channel_id: options.channel, is_ephemeral: false },
    channel: { id: options.channel, name: 'approvals' },
    message: { type: 'message', ts: options.ts, text: 'card', blocks: options.blocks ?? [] },
    actions: [
      {
        type: 'button',
        action_id: options.actionId,
        block_id: 'ala.actions.1',
        value: options.value,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

/** The rejection modal submitted, as Slack's view_submission payload carries it. */
export function modalSubmission(options: {
  user: string;
  privateMetadata: string;
  comment: string | null;
}): Json {
  return {
    type: 'view_submission',
    user: { id: options.user, team_id: 'T0STANDIN' },
    team: { id: 'T0STANDIN' },
    view: {
      id: 'V0STANDIN',
      type: 'modal',
      callback_id: 'ala.reject',
      private_metadata: options.privateMetadata,
      state: {
        values: { 'ala.reject.comment': { comment: { type: 'plain_text_input', value: options.comment } } },
      },
    },
  };
}
