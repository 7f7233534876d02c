/** The one amount reader every path uses (core/amount.ts): exact, tolerant of how people type. */
import assert from 'node:assert/strict';
import { amountOrNull, amountToNumber, readAmount } from '../../src/core/amount';

describe('readAmount', () => {
  const reads: Array<[string, string]> = [
    ['1500', '1500'],
    ['1500.50', '1500.50'],
    ['1500,50', '1500.50'],
    ['1 500', '1500'],
    ['22\u00a0500', '22500'], // a no-break space, as amoCRM's price field and text fields hold it
    ['22\u202f500', '22500'], // a narrow no-break space (the French and Russian grouping of some keyboards)
    ['1500 ₽', '1500'],
    ['1 500,50 ₽', '1500.50'],
    ['15 000,00 руб.', '15000.00'],
    ['1500 р', '1500'],
    ['1500р.', '1500'],
    ['1500 рублей', '1500'],
    ['1500 RUB', '1500'],
    ['$1,500.50', '1500.50'],
    ['1.500,50', '1500.50'],
    ['1,500,000', '1500000'],
    ['1.500.000', '1500000'],
    ["1'500", '1500'],
    ['0015.50', '15.50'],
    ['-1500', '-1500'],
    ['0', '0'],
  ];
  for (const [text, amount] of reads) {
    it(`reads ${JSON.stringify(text)} as ${amount}`, () => {
      assert.deepEqual(readAmount(text), { amount });
    });
  }

  it('reads finite numbers exactly, without an exponent', () => {
    assert.deepEqual(readAmount(22500), { amount: '22500' });
    assert.deepEqual(readAmount(1500.5), { amount: '1500.5' });
    assert.deepEqual(readAmount(1e21), { amount: '1000000000000000000000' });
    assert.deepEqual(readAmount(Infinity), { unreadable: 'Infinity is not a finite number' });
    assert.deepEqual(readAmount(NaN), { unreadable: 'NaN is not a finite number' });
  });

  it('says why text is not an amount', () => {
    assert.deepEqual(readAmount(''), { unreadable: 'the amount is empty' });
    assert.deepEqual(readAmount(' ₽ '), { unreadable: 'the amount is empty' });
    assert.deepEqual(readAmount('договорная'), { unreadable: '"договорная" is not an amount' });
    assert.deepEqual(readAmount('1e300'), { unreadable: '"1e300" is not an amount' });
    assert.deepEqual(readAmount(null), { unreadable: 'an amount must be a number or text' });
  });

  it('amountOrNull is the amount or null; amountToNumber the wire number', () => {
    assert.equal(amountOrNull('1 500,50 ₽'), '1500.50');
    assert.equal(amountOrNull('договорная'), null);
    assert.equal(amountOrNull(undefined), null);
    assert.equal(amountToNumber('1500.50'), 1500.5);
  });
});
