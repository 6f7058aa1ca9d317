/**
 * The formats of the ids the gateway hands out or accepts, each defined once: the HTTP schemas
 * (and so the OpenAPI document), the service and the id source use these. The SDK keeps its own
 * copy of the idempotency-key check (it loads no server code); a unit test keeps the two equal.
 */

/** `ar_` + a ULID in Crockford base32 (functions/adapters/system/system.ts makes them). */
export const REQUEST_ID_PATTERN = /^ar_[0-9A-HJKMNP-TV-Z]{26}$/;
export const REQUEST_ID_EXAMPLE = 'ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R';

/** An `Idempotency-Key`: 1 to 255 visible ASCII characters, so it fits a header and a store key. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_KEY_RULE = 'Idempotency-Key must be 1 to 255 visible ASCII characters';
