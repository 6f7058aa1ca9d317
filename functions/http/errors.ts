/** The one place where errors become HTTP answers. */
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type ErrorKind, GatewayError } from '../core/errors.ts';

export interface ErrorBody {
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

const STATUS_BY_KIND: Record<ErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
};

export function toHttpError(error: unknown): {
  status: ContentfulStatusCode;
  body: ErrorBody;
  expected: boolean;
} {
  if (error instanceof GatewayError) {
    return {
      status: STATUS_BY_KIND[error.kind],
      body: {
        error: error.code,
        message: error.message,
        ...(error.details ? { details: error.details } : {}),
      },
      expected: true,
    };
  }
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    const byStatus: Record<number, ErrorBody> = {
      400: { error: 'invalid_json', message: 'the request body is not valid JSON; send a JSON object' },
      413: { error: 'payload_too_large', message: 'the request body is over 64 KiB; send a smaller request' },
    };
    return {
      status,
      body: byStatus[status] ?? { error: 'http_error', message: error.message || 'request refused' },
      expected: status < 500,
    };
  }
  return {
    status: 500,
    body: {
      error: 'internal_error',
      message: "the gateway failed unexpectedly; the error is logged under this response's x-request-id",
    },
    expected: false,
  };
}
