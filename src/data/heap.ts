/**
 * The k best items of a stream in O(k) memory: a binary min-heap whose root is the worst item kept, so a new
 * item enters only when it beats the root. `better(a, b)` must be a strict total order for a deterministic
 * result (break ties by arrival order); items with a key already kept are skipped, so the k are distinct.
 */
export class TopK<T> {
  private readonly items: T[] = [];
  private readonly keys = new Set<string>();

  constructor(
    readonly k: number,
    private readonly better: (a: T, b: T) => boolean,
    private readonly key: (item: T) => string,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** The worst item kept, or undefined while empty. */
  get worst(): T | undefined {
    return this.items[0];
  }

  /** Offers an item; true when it was kept. */
  push(item: T): boolean {
    if (this.k <= 0) return false;
    const full = this.items.length >= this.k;
    if (full && !this.better(item, this.items[0] as T)) return false;
    const key = this.key(item);
    if (this.keys.has(key)) return false;
    if (!full) {
      this.items.push(item);
      this.keys.add(key);
      this.up(this.items.length - 1);
      return true;
    }
    const root = this.items[0] as T;
    this.keys.delete(this.key(root));
    this.items[0] = item;
    this.keys.add(key);
    this.down(0);
    return true;
  }

  /** The items kept, best first. */
  sorted(): T[] {
    return [...this.items].sort((a, b) => (this.better(a, b) ? -1 : this.better(b, a) ? 1 : 0));
  }

  private swap(i: number, j: number): void {
    const a = this.items[i] as T;
    this.items[i] = this.items[j] as T;
    this.items[j] = a;
  }

  /** Whether item i is worse than item j (belongs nearer the root). */
  private worse(i: number, j: number): boolean {
    return this.better(this.items[j] as T, this.items[i] as T);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worse(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let worst = i;
      if (left < n && this.worse(left, worst)) worst = left;
      if (right < n && this.worse(right, worst)) worst = right;
      if (worst === i) return;
      this.swap(i, worst);
      i = worst;
    }
  }
}
