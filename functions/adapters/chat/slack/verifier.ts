/**
 * Slack's request signature (Slack API docs, "Verifying requests from Slack"): `v0=` + hex
 * HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<raw body>` with the app's signing secret,
 * compared in constant time; a timestamp more than five minutes from now is refused (Slack's own
 * recommendation), and a signature already seen within that window is a replay.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a request's timestamp may be from now, either way. */
export const SLACK_SIGNATURE_WINDOW_SECONDS = 300;

export type SignatureVerdict =
  | { readonly ok: true; readonly timestamp: number }
  | { readonly ok: false; readonly reason: string };

/** The header value Slack sends for `body` at `timestamp` (seconds). */
export function slackSignature(signingSecret: string, timestamp: number | string, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function verifySlackSignature(input: {
  readonly signingSecret: string;
  readonly body: string;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly now: Date;
}): SignatureVerdict {
  const { timestamp, signature } = input;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, reason: 'X-Slack-Request-Timestamp is missing or not a number of seconds' };
  }
  if (!signature || !/^v0=[0-9a-f]{64}$/.test(signature)) {
    return { ok: false, reason: 'X-Slack-Signature is missing or not of the form v0=<64 hex digits>' };
  }
  const seconds = Number(timestamp);
  const skew = Math.abs(input.now.getTime() / 1000 - seconds);
  if (skew > SLACK_SIGNATURE_WINDOW_SECONDS) {
    return {
      ok: false,
      reason: `X-Slack-Request-Timestamp is ${Math.round(skew)} s from the gateway's clock (at most ${SLACK_SIGNATURE_WINDOW_SECONDS} s accepted)`,
    };
  }
  const expected = Buffer.from(slackSignature(input.signingSecret, timestamp, input.body));
  // Both are `v0=` + 64 hex digits here, so the lengths match and the comparison is constant time.
  if (!timingSafeEqual(expected, Buffer.from(signature))) {
    return { ok: false, reason: 'X-Slack-Signature does not match the body: check the signing secret' };
  }
  return { ok: true, timestamp: seconds };
}
