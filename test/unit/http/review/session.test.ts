import { describe, expect, it } from 'vitest';
import {
  CookieSealer,
  cookieNames,
  csrfMatches,
  newCsrfToken,
  readCookie,
  safeReturnPath,
  setCookie,
} from '../../../../functions/http/review/session.ts';

const SECRET = 'unit-test-review-session-secret-0123456789';
const now = new Date('2026-11-22T10:00:00Z');
const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);
const session = {
  principal: 'user:bob@example.gov',
  authTime: 1_700_000_000,
  csrf: 'c'.repeat(32),
  method: 'oidc' as const,
};

describe('Class: CookieSealer', () => {
  it('opens what it sealed, until it expires', async () => {
    const sealer = new CookieSealer(SECRET);
    const value = await sealer.sealSession(session, 600, now);
    expect(await sealer.openSession(value, later(599))).toEqual(session);
    expect(await sealer.openSession(value, later(601))).toBeUndefined();
  });

  it('hides the content: the principal is not readable in the cookie', async () => {
    const value = await new CookieSealer(SECRET).sealSession(session, 600, now);
    const decoded = value
      .split('.')
      .map((part) => Buffer.from(part, 'base64url').toString('latin1'))
      .join('');
    expect(decoded).not.toContain('bob@example.gov');
  });

  it('refuses a changed byte, another key, and a sign-in cookie offered as a session', async () => {
    const sealer = new CookieSealer(SECRET);
    const value = await sealer.sealSession(session, 600, now);
    const parts = value.split('.');
    const ciphertext = parts[3] as string;
    parts[3] = `${ciphertext[0] === 'A' ? 'B' : 'A'}${ciphertext.slice(1)}`;
    expect(await sealer.openSession(parts.join('.'), now)).toBeUndefined();
    expect(await new CookieSealer(`${SECRET}-other`).openSession(value, now)).toBeUndefined();
    const signIn = await sealer.sealSignIn(
      { state: 's', nonce: 'n', verifier: 'v', returnTo: '/review', stepUp: false, csrf: 'c' },
      600,
      now,
    );
    expect(await sealer.openSession(signIn, now)).toBeUndefined();
    expect(await sealer.openSignIn(signIn, now)).toMatchObject({ state: 's', returnTo: '/review' });
    expect(await sealer.openSession(undefined, now)).toBeUndefined();
    expect(await sealer.openSession('garbage', now)).toBeUndefined();
  });

  it('refuses a secret shorter than 32 characters, saying how to make one', () => {
    expect(() => new CookieSealer('short')).toThrow(/at least 32 characters.*openssl rand -hex 32/);
  });
});

describe('Function: csrfMatches', () => {
  it('accepts the session token only', () => {
    const token = newCsrfToken();
    expect(csrfMatches(token, token)).toBe(true);
    expect(csrfMatches(token, `${token}x`)).toBe(false);
    expect(csrfMatches(token, '')).toBe(false);
    expect(csrfMatches(token, undefined)).toBe(false);
    expect(newCsrfToken()).not.toBe(token);
  });
});

describe('Function: safeReturnPath', () => {
  it('keeps paths under /review and sends everything else to the list', () => {
    expect(safeReturnPath('/review/requests/ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R')).toBe(
      '/review/requests/ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R',
    );
    for (const bad of [
      'https://evil.example/',
      '//evil.example',
      '/review//evil.example',
      '/v1/x',
      '/reviewer',
      undefined,
    ]) {
      expect(safeReturnPath(bad)).toBe('/review');
    }
  });
});

describe('Function: setCookie', () => {
  it('sets HttpOnly, Secure, SameSite and the __Host- prefix on a secure origin', () => {
    const names = cookieNames({ secure: true });
    expect(names.session).toBe('__Host-ala_review');
    expect(setCookie(names.session, 'v', { secure: true, maxAgeSeconds: 60, sameSite: 'Strict' })).toBe(
      '__Host-ala_review=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Strict',
    );
  });

  it('drops Secure and the prefix only for plain http (loopback, local mode)', () => {
    const names = cookieNames({ secure: false });
    expect(names.session).toBe('ala_review');
    expect(setCookie(names.signIn, 'v', { secure: false, maxAgeSeconds: 60, sameSite: 'Lax' })).toBe(
      'ala_review_signin=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax',
    );
  });

  it('reads one cookie back from a Cookie header', () => {
    expect(readCookie('a=1; ala_review=xyz; b=2', 'ala_review')).toBe('xyz');
    expect(readCookie('ala_review_signin=1', 'ala_review')).toBeUndefined();
    expect(readCookie(undefined, 'ala_review')).toBeUndefined();
  });
});
