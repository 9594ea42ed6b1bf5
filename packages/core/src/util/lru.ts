/**
 * A map that keeps its `max` most recently used entries and hands each one it drops to `evict`
 * (e.g. to free tensors): caches of derived weights, where the keys are tensors' data ids.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly max: number, private readonly evict: (value: V, key: K) => void) {}

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  /** Stores the value as the most recently used (a value it replaces is not evicted), then drops the least recently used beyond `max`. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    for (const [k, v] of this.entries) {
      if (this.entries.size <= this.max) break;
      this.entries.delete(k);
      this.evict(v, k);
    }
  }
}
