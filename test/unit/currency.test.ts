/** ISO 4217: codes in use, withdrawn codes and their successors, close spellings. */
import { strict as assert } from 'node:assert';
import { isCurrencyCode, suggestCurrency } from '../../src/core/currency';

describe('currency codes (ISO 4217)', () => {
  it('knows the codes in use and refuses withdrawn and made-up ones', () => {
    for (const code of ['RUB', 'USD', 'EUR', 'KZT', 'BYN', 'UAH', 'UZS', 'GEL', 'CNY']) {
      assert.ok(isCurrencyCode(code), code);
    }
    for (const code of ['RUR', 'BYR', 'ABC', 'rub', 'RUBB', '']) {
      assert.equal(isCurrencyCode(code), false, code);
    }
  });

  it('names the successor of a withdrawn code, and why', () => {
    assert.deepEqual(suggestCurrency('RUR'), {
      code: 'RUB',
      why: 'RUR is the rouble’s code until 1998',
    });
    assert.equal(suggestCurrency('byr')?.code, 'BYN');
    assert.equal(suggestCurrency('LTL')?.code, 'EUR');
  });

  it('suggests the code for a lower-case or one-letter-off spelling, the common ones first', () => {
    assert.deepEqual(suggestCurrency('usd'), { code: 'USD', why: null });
    assert.equal(suggestCurrency('RUV')?.code, 'RUB');
    assert.equal(suggestCurrency('RUBL')?.code, 'RUB');
    assert.equal(suggestCurrency('ZZZZZZ'), null);
  });

  it('reads the words and signs people write instead of a code', () => {
    assert.equal(suggestCurrency('rubles')?.code, 'RUB');
    assert.equal(suggestCurrency('руб.')?.code, 'RUB');
    assert.equal(suggestCurrency('₽')?.code, 'RUB');
    assert.equal(suggestCurrency('€')?.code, 'EUR');
  });
});
