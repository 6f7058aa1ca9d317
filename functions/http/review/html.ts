/**
 * HTML for the review page, inert by construction: every value interpolated into `html\`…\`` is
 * escaped unless it is itself the output of `html` (a `SafeHtml`). Agent-supplied text can only
 * ever become text; there is no other way to put a string into a page.
 */

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Markup that is already safe: built by `html` from escaped parts. Only this module makes one. */
export class SafeHtml {
  readonly #markup: string;
  private constructor(markup: string) {
    this.#markup = markup;
  }
  /** @internal for `html` and `join` only. */
  static trusted(markup: string): SafeHtml {
    return new SafeHtml(markup);
  }
  toString(): string {
    return this.#markup;
  }
}

/** Text as HTML text or an attribute value in double quotes: `& < > " ' \`` escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string);
}

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof SafeHtml) return part.toString();
  if (Array.isArray(part)) return (part as readonly Part[]).map(render).join('');
  return escapeHtml(String(part));
}

/** Tagged template: the literal parts are markup, every interpolated value is escaped. */
export function html(strings: TemplateStringsArray, ...values: readonly Part[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return SafeHtml.trusted(out);
}

/**
 * A JSON value as indented text, for a `<pre>`: escaped like any other text. Strings keep their
 * characters, but controls and invisible formatting characters (bidi overrides, zero-width) are
 * shown as `\u` escapes so that what an approver reads is what the agent sent.
 */
export function jsonText(value: unknown): string {
  return (JSON.stringify(value, null, 2) ?? 'null').replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
    /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
