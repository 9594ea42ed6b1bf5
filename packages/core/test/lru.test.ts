import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LruCache } from '../src/util/lru.ts';

describe('LruCache', () => {
  it('drops the least recently used beyond its size, reading counts as use, and hands each dropped value to evict', () => {
    const evicted: string[] = [];
    const cache = new LruCache<string, number>(2, (value, key) => evicted.push(`${key}=${value}`));
    cache.set('a', 1);
    cache.set('b', 2);
    assert.equal(cache.get('a'), 1); // a is now newer than b
    cache.set('c', 3);
    assert.deepEqual(evicted, ['b=2']);
    assert.equal(cache.get('b'), undefined);
    cache.set('a', 10); // replacing is not evicting
    assert.deepEqual(evicted, ['b=2']);
    cache.set('d', 4);
    assert.deepEqual(evicted, ['b=2', 'c=3']);
    assert.equal(cache.get('a'), 10);
    assert.equal(cache.get('d'), 4);
  });
});
