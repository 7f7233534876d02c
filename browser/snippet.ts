/**
 * closeloop form snippet: puts the visitor's analytics IDs into every form on the page, so the lead
 * reaches amoCRM with them and closeloop can later send the deal's conversions to GA4 under the same
 * client ID (docs/snippet.md; DESIGN.md "The data path").
 *
 * A plain script for any site: no imports, no globals (one IIFE), ES2017, and it never throws into
 * the host page: every entry point (start, timers, observer, listeners, promise callbacks) runs
 * inside try/catch. It reads cookies set by GA and Yandex Metrica and the page URL, never what a
 * visitor types (except to post a form the site opted in with `data-post-leads`).
 *
 * Fields (names as `POST /leads` and src/core/build-complex-lead.ts read them):
 * - ga_client_id: `_ga` cookie `GA1.1.<random>.<seconds>` → `<random>.<seconds>`, or what
 *   `gtag('get', <G-ID>, 'client_id', cb)` answers (Google's supported way, and right even when the
 *   site renamed the cookie); the server's normalizeClientId accepts both shapes.
 * - ga_session_id: `_ga_<stream>` cookie, GS1 `GS1.1.<session>.…` (3rd dot field) or GS2
 *   `GS2.1.s<session>$o…$g…` (the `$`-item starting with `s`; "order is not guaranteed"),
 *   research ga4-mp.md A2; the same rules as the server's parseSessionId.
 * - utm_source, utm_medium, utm_campaign, utm_content, utm_term, gclid, yclid: the landing URL,
 *   kept in first-party storage (below).
 * - ym_uid: Yandex Metrica's ClientID: what `ym(<counter>, 'getClientID', cb)` answers when the
 *   Metrica tag is on the page (Yandex's supported way, research yandex-metrica.md §6), else the
 *   `_ym_uid` cookie (the same value, confirmed in Yandex's own tag). The counter is
 *   `data-ym-counter`, else the first `ym(<counter>, 'init', …)` in the tag's queue (`ym.a`), else
 *   the first of `Ya.Metrika2.counters()` once the tag has loaded.
 */
(() => {
  type Values = Record<string, string>;
  type Ym = ((counter: number, method: string, callback: (value: unknown) => void) => void) & {
    a?: Array<[number, string]>;
  };
  type Gtag = (
    command: 'get',
    id: string,
    field: string,
    callback: (value: unknown) => void,
  ) => void;

  /** Runs `fn` so that nothing it throws can reach the host page. */
  const safe =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch {
        // The site's own scripts and forms matter more than our fields.
      }
    };

  safe(() => {
    const d = document;
    const w = window as Window & {
      gtag?: Gtag;
      ym?: Ym;
      Ya?: { Metrika2?: { counters?: () => Array<{ id: number }> } };
    };
    const tagged = d.querySelectorAll<HTMLScriptElement>('script[src*="/snippet.js"]');
    const script = (d.currentScript as HTMLScriptElement | null) || tagged[tagged.length - 1];
    const attr = (name: string): string => (script && script.getAttribute('data-' + name)) || '';

    const CAMPAIGN = [
      'utm_source',
      'utm_medium',
      'utm_campaign',
      'utm_content',
      'utm_term',
      'gclid',
      'yclid',
    ];
    const FIELDS = ['ga_client_id', 'ga_session_id', ...CAMPAIGN, 'ym_uid'];
    /** Input name per field: `data-field-utm-source="UTM_SOURCE"` renames utm_source. */
    const names: Values = {};
    for (const key of FIELDS) names[key] = attr('field-' + key.replace(/_/g, '-')) || key;

    const measurementId = attr('measurement-id');
    const ymCounter = (): string => {
      const queued = ((w.ym && w.ym.a) || []).filter((args) => args[1] === 'init')[0];
      const loaded = w.Ya && w.Ya.Metrika2 && w.Ya.Metrika2.counters;
      return String(
        attr('ym-counter') || (queued && queued[0]) || (loaded && (loaded()[0] || {}).id) || '',
      );
    };
    const days = Number(attr('days')) || 90;
    /** null: no posting; '': forms marked data-closeloop-post; 'all': every form. */
    const postLeads = script && script.getAttribute('data-post-leads');
    const STORE = 'closeloop';

    const cookies = (): string[][] => {
      try {
        return d.cookie.split(/; */).map((c) => {
          const eq = c.indexOf('=');
          return [c.slice(0, eq), c.slice(eq + 1)];
        });
      } catch {
        // A sandboxed frame throws on document.cookie: no cookies, the URL tags still work.
        return [];
      }
    };
    const cookie = (name: string): string => {
      for (const c of cookies()) if (c[0] === name) return c[1] || '';
      return '';
    };

    const clientId = (raw: string): string => {
      const m = /^(?:GA\d+\.\d+(?:-\d+)?\.)?(\d+\.\d+)$/i.exec(raw);
      return m ? m[1] || '' : '';
    };
    const sessionId = (raw: string): string => {
      const dots = raw.split('.');
      const ids =
        dots[0] === 'GS1'
          ? [dots[2]]
          : dots[0] === 'GS2'
            ? dots
                .slice(2)
                .join('.')
                .split('$')
                .map((item) => (item[0] === 's' ? item.slice(1) : ''))
            : [];
      // Checked as the server checks it: anything else would start a new session in GA4.
      return ids.filter((id) => /^\d{8,20}$/.test(id || ''))[0] || '';
    };
    const streamSession = (): string => {
      if (measurementId) return sessionId(cookie('_ga_' + measurementId.replace(/^G-/i, '')));
      // No stream named: the first `_ga_<stream>` cookie that holds a session.
      for (const c of cookies()) {
        const id = c[0] && c[0].indexOf('_ga_') === 0 ? sessionId(c[1] || '') : '';
        if (id) return id;
      }
      return '';
    };

    /*
     * Attribution rule: the last non-direct visit wins. A landing whose URL carries any of
     * utm_*, gclid or yclid replaces the stored set as a whole (no mixing of two campaigns' tags);
     * a visit without them (direct, organic, referral, the next page) keeps the stored set. The set
     * expires `data-days` (default 90) days after the landing that stored it. Storage is first-party
     * only: localStorage, or a cookie of this site when localStorage is unavailable.
     */
    const save = safe((set: Values): void => {
      const text = JSON.stringify({ e: Date.now() + days * 864e5, v: set });
      try {
        localStorage.setItem(STORE, text);
      } catch {
        d.cookie =
          STORE +
          '=' +
          encodeURIComponent(text) +
          ';path=/;samesite=lax;max-age=' +
          Math.round(days * 86400) +
          (location.protocol === 'https:' ? ';secure' : '');
      }
    });
    const load = (): Values => {
      let text: string | null = null;
      try {
        text = localStorage.getItem(STORE);
      } catch {
        // Storage blocked: the cookie fallback below.
      }
      try {
        const o = JSON.parse(text || decodeURIComponent(cookie(STORE))) as { e: number; v: Values };
        if (o.e > Date.now() && typeof o.v === 'object') return o.v;
      } catch {
        // Nothing stored, or not ours.
      }
      return {};
    };

    let campaign: Values = {};
    const query = new URLSearchParams(location.search);
    for (const key of CAMPAIGN) {
      const value = query.get(key);
      if (value) campaign[key] = value;
    }
    if (Object.keys(campaign).length) save(campaign);
    else campaign = load();

    let gtagClientId = '';
    let askedGtag = false;
    let ymClientId = '';
    let askedYm = false;
    let values: Values = {};

    const read = (): void => {
      if (!askedGtag && measurementId && typeof w.gtag === 'function') {
        askedGtag = true;
        w.gtag(
          'get',
          measurementId,
          'client_id',
          safe((id: unknown) => {
            gtagClientId = clientId(String(id));
            if (gtagClientId) refresh();
          }),
        );
      }
      const counter = askedYm || typeof w.ym !== 'function' ? '' : ymCounter();
      if (/^\d+$/.test(counter) && w.ym) {
        askedYm = true;
        w.ym(
          Number(counter),
          'getClientID',
          safe((id: unknown) => {
            ymClientId = /^\d+$/.test(String(id)) ? String(id) : '';
            if (ymClientId) refresh();
          }),
        );
      }
      const ymUid = ymClientId || cookie('_ym_uid');
      values = {
        ...campaign,
        ga_client_id: gtagClientId || clientId(cookie('_ga')),
        ga_session_id: streamSession(),
        ym_uid: /^\d+$/.test(ymUid) ? ymUid : '',
      };
    };

    /** Our value into the form's input of that name, added as a hidden input when missing. */
    const fill = (form: HTMLFormElement): void => {
      if (form.hasAttribute('data-closeloop-skip')) return;
      for (const key of FIELDS) {
        const value = values[key];
        if (!value || typeof value !== 'string') continue;
        let input = form.querySelector<HTMLInputElement>('[name="' + names[key] + '"]');
        if (!input) {
          input = form.appendChild(d.createElement('input'));
          input.type = 'hidden';
          input.name = names[key] || key;
          input.setAttribute('data-closeloop', '');
        }
        input.value = value;
      }
    };
    // Not while the page is still being parsed: a form may be half there, and its own inputs named
    // like ours (declared further down) not yet; DOMContentLoaded fills every form once it is whole.
    const fillAll = (): void => {
      if (d.readyState !== 'loading') d.querySelectorAll('form').forEach(safe(fill));
    };
    const refresh = (): void => {
      read();
      fillAll();
    };

    refresh();
    d.addEventListener('DOMContentLoaded', safe(refresh));
    // Forms added later (popups, site builders' lazy blocks, single-page apps).
    new MutationObserver(
      safe((records: MutationRecord[]) => {
        let added = false;
        for (const record of records) {
          record.addedNodes.forEach((node) => {
            if (
              node instanceof Element &&
              (node.tagName === 'FORM' || node.querySelector('form'))
            ) {
              added = true;
            }
          });
        }
        if (added) refresh();
      }),
    ).observe(d.documentElement, { childList: true, subtree: true });

    // GA (and Metrica) often load after us: look again every 500 ms for 10 s.
    let ticks = 0;
    const timer = setInterval(
      safe(() => {
        refresh();
        if (++ticks >= 20 || (values.ga_client_id && values.ga_session_id)) clearInterval(timer);
      }),
      500,
    );

    // Right before sending: late cookies included. Capture phase, so it runs before the site's handlers.
    d.addEventListener(
      'submit',
      safe((event: Event) => {
        const form = event.target as HTMLFormElement;
        read();
        fill(form); // a form being submitted is whole, even while the page loads
        if (
          postLeads != null &&
          (postLeads === 'all' || form.hasAttribute('data-closeloop-post'))
        ) {
          send(event, form);
        }
      }),
      true,
    );
    // A GET form (a search box) would put the IDs into the next page's URL, and utm_* in a URL
    // starts a new campaign in GA: when the browser is about to submit one, take our inputs out.
    w.addEventListener(
      'submit',
      safe((event: Event) => {
        const form = event.target as HTMLFormElement;
        if (!event.defaultPrevented && form.method === 'get') {
          form.querySelectorAll('[data-closeloop]').forEach((i) => i.remove());
        }
      }),
    );

    /** `data-post-leads`: the form goes to closeloop's `POST /leads` as JSON; the site shows the result. */
    const send = (event: Event, form: HTMLFormElement): void => {
      event.preventDefault();
      if (form.getAttribute('aria-busy')) return;
      form.setAttribute('aria-busy', 'true');
      const body: Values = {};
      new FormData(form).forEach((value, key) => {
        if (typeof value === 'string' && !(key in body)) body[key] = value;
      });
      const done = safe((ok: boolean, detail: object) => {
        form.removeAttribute('aria-busy');
        form.dispatchEvent(
          new CustomEvent('closeloop:' + (ok ? 'sent' : 'error'), { bubbles: true, detail }),
        );
      });
      fetch(new URL(script ? script.src : '/', location.href).origin + '/leads', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      })
        .then((response) =>
          response
            .json()
            .catch(() => null)
            .then((json: unknown) =>
              done(response.ok, { status: response.status, response: json }),
            ),
        )
        .catch(() => done(false, { status: 0, response: null }));
    };
  })();
})();
