import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, html, jsonText } from '../../../../functions/http/review/html.ts';

/** What a browser shows for escaped text: the five entities back to their characters. */
function asBrowserShows(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&#96;', '`')
    .replaceAll('&amp;', '&');
}

describe('Function: escapeHtml', () => {
  it('escapes every character that could open markup or leave an attribute', () => {
    expect(escapeHtml(`<img src=x onerror="alert('1')">&\``)).toBe(
      '&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;',
    );
  });

  it('leaves no markup character in any string, and loses nothing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const escaped = escapeHtml(text);
        expect(escaped).not.toMatch(/[<>"'`]/);
        expect(asBrowserShows(escaped)).toBe(text);
      }),
    );
  });
});

describe('Function: html', () => {
  it('escapes interpolated strings, numbers and arrays, and keeps nested html as markup', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p title="${'"x"'}">${inner}${[1, '<2>']}${undefined}${false}</p>`.toString()).toBe(
      '<p title="&quot;x&quot;"><b>&lt;i&gt;</b>1&lt;2&gt;</p>',
    );
  });

  it('cannot be fooled by an object that merely looks like safe markup', () => {
    const impostor = { toString: () => '<script>alert(1)</script>' };
    expect(html`${impostor as unknown as string}`.toString()).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});

describe('Function: jsonText', () => {
  it('keeps the indentation and shows invisible and bidi characters as escapes', () => {
    expect(jsonText({ a: 'x\u202ey\u200bz' })).toBe('{\n  "a": "x\\u202ey\\u200bz"\n}');
  });
});
