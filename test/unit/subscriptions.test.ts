import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const open = () => new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: 60_000, synchronous: 'normal' });

describe('subscriptions', () => {
  it('move cursors forward only, one or many at a time', () => {
    const { subscriptions: subs } = open();
    subs.commit('sink:a', new Map([['orders', 5]]));
    subs.commit('sink:a', new Map([['orders', 3], ['payments', 2]]));
    expect(subs.cursors('sink:a')).toEqual(new Map([['orders', 5], ['payments', 2]]));
    expect(subs.cursor('sink:a', 'alerts')).toBeNull();
  });

  it('follow a stream from 0 without moving a cursor back', () => {
    const { subscriptions: subs } = open();
    subs.commit('sink:a', new Map([['orders', 5]]));
    subs.follow('sink:a', ['orders', 'payments']);
    expect(subs.cursors('sink:a')).toEqual(new Map([['orders', 5], ['payments', 0]]));
  });

  it('give each stream a retention floor: the lowest cursor of the owners that follow it', () => {
    const { subscriptions: subs } = open();
    subs.commit('sink:a', new Map([['orders', 5], ['payments', 9]]));
    subs.commit('webhook:ep', new Map([['orders', 2]]));
    expect(subs.floor('orders')).toBe(2);
    expect(subs.floor('orders', new Set(['sink:a']))).toBe(5);
    expect(subs.floor('alerts')).toBeNull();
    subs.drop('webhook:ep');
    expect(subs.floor('orders')).toBe(5);
    expect(subs.cursors('webhook:ep').size).toBe(0);
  });
});
