/** The console's server-rendered shells and the language choice (src/console/ui). */
import assert from 'node:assert/strict';
import { pickLanguage, renderAppPage, renderLoginPage } from '../../src/console/ui';

describe('console ui: pickLanguage', () => {
  const cases: Array<[string | undefined, 'ru' | 'en']> = [
    [undefined, 'en'],
    ['', 'en'],
    ['ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7', 'ru'],
    ['en-GB,en;q=0.9,ru;q=0.8', 'en'],
    ['de-DE,ru;q=0.5,en;q=0.4', 'ru'],
    ['uk-UA,uk;q=0.9', 'en'],
    ['en;q=0.2, ru;q=0.8', 'ru'],
    ['ru;q=0, en;q=0.1', 'en'],
  ];
  for (const [header, lang] of cases) {
    it(`${JSON.stringify(header)} → ${lang}`, () => assert.equal(pickLanguage(header), lang));
  }
});

describe('console ui: shells', () => {
  it('the login page shows the error in the chosen language and carries the CSRF token', () => {
    const html = renderLoginPage({ lang: 'ru', error: 'too_many_attempts', csrfToken: 'a"b' });
    assert.match(html, /Слишком много попыток/);
    assert.match(html, /name="csrf_token" value="a&quot;b"/);
    assert.match(html, /<form[^>]+method="post" action="\/console\/login"/);
  });

  it('an app page escapes the deal id and renders the CSRF meta, without inline script', () => {
    const html = renderAppPage('deal', {
      lang: 'en',
      csrfToken: 'tok',
      dealId: '<img src=x onerror=alert(1)>',
    });
    assert.ok(!html.includes('<img src=x'), 'the deal id is escaped');
    assert.match(html, /<meta name="csrf-token" content="tok">/);
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    for (const tag of scripts) {
      assert.ok(/type="application\/json"|src="\/console\/assets\//.test(tag), tag);
    }
  });

  it('the labels block cannot close its script element', () => {
    const html = renderAppPage('overview', { lang: 'en', csrfToken: 't' });
    const block = /<script type="application\/json" id="console-labels">([\s\S]*?)<\/script>/.exec(
      html,
    );
    assert.ok(block?.[1]);
    assert.equal(JSON.parse(block[1])['nav.overview'], 'Overview');
  });
});
