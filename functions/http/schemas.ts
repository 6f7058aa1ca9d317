/**
 * Request and response schemas of the HTTP API. The OpenAPI document is generated from these, so
 * validation, types and documentation cannot drift.
 */
import { z } from '@hono/zod-openapi';
import {
  IDEMPOTENCY_KEY_PATTERN,
  IDEMPOTENCY_KEY_RULE,
  REQUEST_ID_EXAMPLE,
  REQUEST_ID_PATTERN,
} from '../core/identifiers.ts';
import { type JsonFlawKind, jsonFlaw } from '../core/json-hygiene.ts';
import { CURSOR_PATTERN, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../core/paging.ts';
import { principalProblem } from '../core/principals.ts';

export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_JSON_DEPTH = 32;
export const MAX_WAIT_SECONDS = 25;

// Exactly the canonical principal ids (functions/core/principals.ts has the rules; a test checks
// that every id this pattern admits is canonical), written without the `u` flag so that OpenAPI
// tooling (JSON Schema `pattern`) can use it as is. Lengths are bounded inside the alternatives so
// that the pattern alone keeps a name within 256 characters.
export const PRINCIPAL = new RegExp(
  [
    "^(?:user:[a-z0-9_+=,%'-](?:[a-z0-9._+=,%'@-]{0,254}[a-z0-9_+=,%'@-])?",
    'agent:[a-z0-9](?:[a-z0-9._-]{0,254}[a-z0-9_-])?',
    'iam:arn:aws(?:-[a-z]{1,10}){0,3}:iam::[0-9]{12}:(?:role/[a-z0-9_+=,.@-]{0,63}[a-z0-9_+=,@-]|user/(?:[a-z0-9_+=,.@-]{1,64}/){0,3}[a-z0-9_+=,.@-]{0,63}[a-z0-9_+=,@-]))$',
  ].join('|'),
);

const JSON_FLAW_MESSAGES: Record<JsonFlawKind, string> = {
  not_finite: 'numbers must be finite',
  lone_surrogate: 'text must be well-formed Unicode (a lone surrogate was found)',
  lone_surrogate_key: 'keys must be well-formed Unicode',
  proto_key: 'the key "__proto__" is not allowed',
  too_deep: `nested deeper than ${MAX_JSON_DEPTH} levels; flatten the structure`,
  too_many_values: 'too many values',
  not_json: 'not a JSON value',
};

/**
 * What JSON.parse accepts but this API must not (core/json-hygiene.ts: ±Infinity, lone
 * surrogates, `__proto__`, nesting beyond MAX_JSON_DEPTH inside `args`, `properties` and
 * `attributes`, which sit up to four levels below the body). The first problem and where it is,
 * e.g. `(body).action.args.x`. The body size is bodySizeLimit's (middleware.ts).
 */
export function jsonProblem(body: unknown): { path: string; message: string } | undefined {
  const flaw = jsonFlaw(body, { maxDepth: MAX_JSON_DEPTH + 4 });
  if (!flaw) return undefined;
  const path = flaw.path.reduce<string>(
    (text, step) => (typeof step === 'number' ? `${text}[${step}]` : `${text}.${step}`),
    '(body)',
  );
  return { path, message: JSON_FLAW_MESSAGES[flaw.kind] };
}

/** The `Idempotency-Key` header of a submission. */
export const IdempotencyKeyHeader = z
  .string()
  .max(255)
  .regex(IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE.replace('Idempotency-Key ', ''))
  .optional()
  .openapi({ param: { name: 'idempotency-key', in: 'header' } });

/**
 * Free-form JSON object; its nesting and values are checked by the strict parser before validation
 * (strict-json.ts). The document says what that parser accepts: numbers within ±(2^53 − 1), no
 * `__proto__` key (the `JsonValue` component, registered in openapi.ts).
 */
const JsonObject = z.record(z.string().max(256), z.unknown()).openapi({
  type: 'object',
  additionalProperties: { $ref: '#/components/schemas/JsonValue' },
  // zod-openapi's metadata type lacks the JSON Schema keyword; it is passed through as written.
  ...({ propertyNames: { maxLength: 256, not: { const: '__proto__' } } } as object),
});

/**
 * A principal id in canonical form. A non-canonical id (`user:Bob@Example.gov`, `human:bob@…`,
 * a trailing dot) is refused with a message that names the canonical form, never silently fixed:
 * the caller must learn which identity the gateway will compare.
 */
export const PrincipalId = z
  .string()
  .max(300)
  .superRefine((value, ctx) => {
    const problem = principalProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({ type: 'string', pattern: PRINCIPAL.source, example: 'user:alice@example.gov' });
const Principal = PrincipalId;

export const RequestIdParam = z.object({
  id: z
    .string()
    .regex(REQUEST_ID_PATTERN, `must be an action request id like ${REQUEST_ID_EXAMPLE}`)
    .openapi({ param: { name: 'id', in: 'path' }, example: REQUEST_ID_EXAMPLE }),
});

export const ActionRequestBody = z
  .strictObject({
    action: z.strictObject({
      name: z
        .string()
        .min(1)
        .max(128)
        .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'letters, digits and . _ : / - only, e.g. "data.export"'),
      args: JsonObject.default({}),
    }),
    resource: z.strictObject({
      type: z.string().min(1).max(256),
      id: z.string().min(1).max(2048),
      properties: JsonObject.default({}),
    }),
    context: z
      .strictObject({
        justification: z.string().max(2000).optional(),
        on_behalf_of: Principal.optional(),
        agent: z
          .strictObject({
            name: z.string().max(256).optional(),
            model: z.string().max(256).optional(),
            session_id: z.string().max(256).optional(),
            tool_call_id: z.string().max(256).optional(),
          })
          .optional(),
        ticket: z.string().max(256).optional(),
        break_glass: z.boolean().optional(),
        callback_url: z
          .url({ protocol: /^https$/ })
          .max(2048)
          .optional(),
        attributes: JsonObject.optional(),
      })
      .default({}),
  })
  .openapi('ActionRequestInput', {
    example: {
      action: {
        name: 'data.export',
        args: { dataset: 'ledger_2026q2', destination: 's3://agency-internal-archive/fin/' },
      },
      resource: {
        type: 'aws:s3:bucket',
        id: 'arn:aws-us-gov:s3:::fin-ledger-prod',
        properties: { environment: 'prod', data_classification: 'CUI' },
      },
      context: {
        justification: 'Quarterly reconciliation, CHG-4821',
        on_behalf_of: 'user:alice@example.gov',
      },
    },
  });
export type ActionRequestBody = z.infer<typeof ActionRequestBody>;

/** An approval of less than was asked (core/narrowing.ts); each omitted term stays as asked. */
export const NarrowToBody = z
  .strictObject({
    actions: z
      .array(z.string().min(1).max(256))
      .min(1, 'keep at least one action (to approve none, reject the request)')
      .max(100)
      .optional()
      .openapi({ description: "Some of the grant's actions, letter for letter" }),
    resources: z
      .array(z.string().min(1).max(2048))
      .min(1, 'keep at least one resource (to approve none, reject the request)')
      .max(100)
      .optional()
      .openapi({
        description:
          "Some of the grant's resources, letter for letter, or literal resources (no `*`, `?`, `${`) that one of its stated wildcard resources matches",
      }),
    window_seconds: z
      .number()
      .int('a whole number of seconds')
      .min(1)
      .max(7 * 24 * 3600)
      .optional()
      .openapi({ description: "At most the grant's window" }),
  })
  .openapi('NarrowTo', {
    description:
      'Approve less than was asked: fewer actions, fewer resources, a shorter window, never more. The policy is evaluated again with these terms (`input.narrowing`); a deny refuses the vote (403 `narrowing_denied`). A term that was not asked for is a 400 naming it.',
    example: { resources: ['arn:aws-us-gov:s3:::fin-ledger-prod/2026q2/*'], window_seconds: 600 },
  });

export const DecisionBody = z
  .strictObject({
    decision: z.enum(['approve', 'reject']),
    comment: z.string().max(2000).optional(),
    action_hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be the action_hash shown with the request'),
    narrow_to: NarrowToBody.optional(),
  })
  .openapi('DecisionInput');

export const CancelBody = z.strictObject({ reason: z.string().max(2000).optional() }).openapi('CancelInput');

export const OutcomeBody = z
  .strictObject({ status: z.enum(['succeeded', 'failed']), detail: z.string().max(2000).optional() })
  .openapi('OutcomeInput');

const Reason = z.object({ code: z.string(), message: z.string() });
/** What the policy grants an approved action (docs/design.md#42-policy-contract `grant`). */
const GrantTerms = z.object({
  type: z.enum(['none', 'aws_sts']),
  role: z.string().optional(),
  actions: z.array(z.string()).optional(),
  resources: z.array(z.string()).optional(),
  window_seconds: z.number().optional(),
});
const Status = z.enum(['pending', 'approved', 'denied', 'rejected', 'expired', 'cancelled']);
/** Terms a narrowed vote or approval covers, with their own hash. */
const ApprovedTerms = z
  .object({
    actions: z.array(z.string()),
    resources: z.array(z.string()),
    window_seconds: z.number(),
    terms_hash: z.string().openapi({
      description:
        'sha256 of the request id, its action hash and these terms: votes count together only when it is the same',
    }),
  })
  .openapi('ApprovedTerms');

export const ActionRequestView = z
  .object({
    id: z.string(),
    status: Status,
    requester: z.string(),
    action: z.object({ name: z.string(), args: z.record(z.string(), z.unknown()) }),
    resource: z.object({ type: z.string(), id: z.string(), properties: z.record(z.string(), z.unknown()) }),
    context: z.record(z.string(), z.unknown()),
    action_hash: z.string(),
    decision: z.object({
      outcome: z.enum(['allow', 'deny', 'require_approval']),
      reasons: z.array(Reason),
      policy_digest: z.string(),
      input_hash: z.string(),
      notify: z.array(z.string()).optional(),
      post_review: z.boolean().optional(),
    }),
    approval: z
      .object({
        required: z.number().int(),
        received: z.number().int(),
        groups: z.array(z.string()),
        escalation_groups: z.array(z.string()),
        escalated: z.boolean(),
        expires_at: z.string(),
        escalate_at: z.string().optional(),
        votes: z.array(
          z.object({
            approver: z.string(),
            decision: z.enum(['approve', 'reject']),
            comment: z.string().optional(),
            channel: z.string(),
            time: z.string(),
            terms: ApprovedTerms.optional().openapi({
              description: 'Present when the approver approved less than was asked: what this vote approves',
            }),
          }),
        ),
      })
      .optional(),
    grant: GrantTerms.extend({ redeemed_at: z.string().optional() }).optional(),
    narrowed: z
      .object({
        terms: ApprovedTerms,
        asked: GrantTerms,
      })
      .optional()
      .openapi({
        description:
          'Present when the request was approved narrower than asked: the approved terms (which `grant` now carries) and the grant as asked',
      }),
    outcome: z
      .object({ status: z.enum(['succeeded', 'failed']), detail: z.string().optional(), time: z.string() })
      .optional(),
    created_at: z.string(),
    updated_at: z.string(),
    agent_message: z.string(),
    links: z.record(z.string(), z.string()),
  })
  .openapi('ActionRequest');
export type ActionRequestView = z.infer<typeof ActionRequestView>;

/** The answer to a vote: the request, and the caller's vote as it stands. */
export const DecisionView = ActionRequestView.extend({
  vote: z
    .object({
      approver: z.string(),
      decision: z.enum(['approve', 'reject']),
      channel: z.string(),
      time: z.string(),
      terms: ApprovedTerms.optional(),
      recorded: z.boolean().openapi({
        description:
          'true when this call recorded the vote; false when the same vote had been recorded earlier (a retry) and nothing changed',
      }),
    })
    .openapi({ description: 'Your vote on this request as it stands' }),
}).openapi('DecisionResult');
export type DecisionView = z.infer<typeof DecisionView>;

const VoteSummary = z.object({
  decision: z.enum(['approve', 'reject']),
  channel: z.string(),
  time: z.string(),
});

/** `GET /v1/whoami`: who the gateway takes the caller to be, and what the policy data says about them. */
export const WhoamiView = z
  .object({
    principal: z.string().openapi({
      description: 'Your principal id: the one approvals, exclusions and the audit trail use',
      example: 'user:bob@example.gov',
    }),
    type: z.string().openapi({ description: 'The part of the id before the first colon', example: 'user' }),
    authentication: z.enum(['bearer', 'iam']).openapi({
      description: '`bearer`: a token of the local gateway; `iam`: AWS SigV4 through API Gateway',
    }),
    groups: z.array(z.string()).openapi({
      description:
        "The policy data's groups you are a member of; a request's approving groups are matched against these",
      example: ['data-owners'],
    }),
    auditor: z.boolean().openapi({ description: 'Whether you may read every request and audit trail' }),
    chat_identities: z
      .object({ slack: z.array(z.string()), teams: z.array(z.string()) })
      .openapi({ description: 'Chat user ids the policy data binds to you (for approvals from chat)' }),
    policy_digest: z.string().openapi({
      description: 'The policy bundle whose data these answers come from',
      example: `sha256:${'0'.repeat(64)}`,
    }),
    review: z
      .object({
        request_id: z.string(),
        status: z.string(),
        may_vote: z.boolean().openapi({ description: 'Whether a vote from you would be counted now' }),
        reason: z.object({ code: z.string(), message: z.string() }).optional().openapi({
          description:
            "Why not, when `may_vote` is false: the same code and message a vote would be refused with (e.g. `self_approval` for the requester, the person it acts for or the requesting agent's owners)",
        }),
        approving_groups: z.array(z.string()).openapi({
          description: 'The groups whose members may vote now (escalation groups once escalated)',
        }),
        your_vote: VoteSummary.optional(),
      })
      .optional()
      .openapi({ description: 'With `?request_id=`: whether you may vote on that request, and if not, why' }),
  })
  .openapi('Whoami');
export type WhoamiView = z.infer<typeof WhoamiView>;

export const WhoamiQuery = z.object({
  request_id: RequestIdParam.shape.id.optional().openapi({
    param: { name: 'request_id', in: 'query' },
    description: 'Also say whether you may vote on this request, and why not',
  }),
});

export const ActionRequestList = z
  .object({
    items: z.array(ActionRequestView),
    count: z.number().int(),
    cursor: z.string().optional().openapi({
      description:
        'Present when more requests may follow: pass it as `?cursor=` (with the same `status`) to continue. A page may hold fewer than `limit` items, even none, and still have a cursor; the listing ends when the cursor is absent.',
    }),
  })
  .openapi('ActionRequestList');

export const ListQuery = z.object({
  status: Status.default('pending').openapi({
    param: { name: 'status', in: 'query' },
    description:
      '`pending` (the default): the pending requests you may vote on and have not voted on yet. Any other status: the requests in it that you may see.',
  }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .default(DEFAULT_PAGE_LIMIT)
    .openapi({ param: { name: 'limit', in: 'query' }, description: 'At most this many requests.' }),
  cursor: z
    .string()
    .regex(CURSOR_PATTERN, 'must be the cursor of a previous page, as given; start again without it')
    .optional()
    .openapi({
      param: { name: 'cursor', in: 'query' },
      description: 'The `cursor` of the previous page, as given.',
    }),
  include_voted: z
    .enum(['true', 'false'])
    .optional()
    .openapi({
      param: { name: 'include_voted', in: 'query' },
      description:
        'With `status=pending`: `true` also lists the pending requests you have voted on already (default `false`: only those awaiting your vote).',
    }),
});

export const WaitQuery = z.object({
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .optional()
    .openapi({
      param: { name: 'wait', in: 'query' },
      description: 'Long-poll up to N seconds for a change.',
    }),
});

export const AuditEventView = z
  .object({
    request_id: z.string(),
    seq: z.number().int(),
    type: z.string(),
    time: z.string(),
    actor: z.string(),
    data: z.record(z.string(), z.unknown()),
    prev_hash: z.string(),
    hash: z.string(),
  })
  .openapi('AuditEvent');

export const AuditView = z
  .object({
    request_id: z.string(),
    events: z.array(AuditEventView),
    recorded_head: z.object({ seq: z.number().int(), hash: z.string() }).openapi({
      description:
        'The chain head the request record keeps (seq and hash of its last event): a verifier compares the events with it, so a deleted tail is found',
    }),
    verification: z.object({
      ok: z.boolean(),
      count: z.number().int().optional(),
      head: z.string().optional(),
      problems: z
        .array(z.object({ seq: z.number().int(), code: z.string(), message: z.string() }))
        .optional(),
    }),
  })
  .openapi('AuditTrail');
export type AuditView = z.infer<typeof AuditView>;

export const GrantView = z
  .object({
    request_id: z.string(),
    action_hash: z.string(),
    grant: z.object({ type: z.enum(['none', 'aws_sts']), role: z.string().optional() }),
    credentials: z
      .object({
        access_key_id: z.string(),
        secret_access_key: z.string(),
        session_token: z.string(),
        expiration: z.string(),
        usable_until: z.string(),
        region: z.string().optional(),
      })
      .optional(),
    agent_message: z.string(),
  })
  .openapi('Grant');
export type GrantView = z.infer<typeof GrantView>;

export const EvaluationView = z
  .object({
    outcome: z.enum(['allow', 'deny', 'require_approval']),
    reasons: z.array(Reason),
    approval: z
      .object({
        groups: z.array(z.string()),
        min_approvals: z.number().int(),
        timeout_seconds: z.number(),
        escalate_after_seconds: z.number().optional(),
        escalation_groups: z.array(z.string()).optional(),
        exclude: z.array(z.string()).optional(),
        channels: z.array(z.string()).optional(),
      })
      .optional(),
    grant: GrantTerms.optional(),
    policy_digest: z.string(),
    input_hash: z.string(),
    action_hash: z.string(),
  })
  .openapi('Evaluation');
export type EvaluationView = z.infer<typeof EvaluationView>;

export const ErrorView = z
  .object({
    error: z.string().openapi({ example: 'invalid_request' }),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('Error');
