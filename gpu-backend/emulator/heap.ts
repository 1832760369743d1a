/**
 * A binary min-heap that keeps its array exactly as Python's `heapq` does.
 *
 * `GET /queue` returns ComfyUI's pending heap *array* unsorted, so reproducing heapq's sift
 * operations (push, pop, heapify) is what makes `queue_pending` come out in the same order.
 */

export class PyHeap<T> {
  readonly items: T[] = [];
  private readonly less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.less = less;
  }

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
    this.siftDown(0, this.items.length - 1);
  }

  pop(): T | undefined {
    const last = this.items.pop();
    if (last === undefined || this.items.length === 0) return last;
    const top = this.items[0] as T;
    this.items[0] = last;
    this.siftUp(0);
    return top;
  }

  removeAt(index: number): void {
    this.items.splice(index, 1);
    this.heapify();
  }

  clear(): void {
    this.items.length = 0;
  }

  heapify(): void {
    for (let i = Math.floor(this.items.length / 2) - 1; i >= 0; i--) this.siftUp(i);
  }

  /** heapq._siftdown: move the item at `pos` up towards `start` while it is smaller than its parent. */
  private siftDown(start: number, pos: number): void {
    const item = this.items[pos] as T;
    while (pos > start) {
      const parentPos = (pos - 1) >> 1;
      const parent = this.items[parentPos] as T;
      if (!this.less(item, parent)) break;
      this.items[pos] = parent;
      pos = parentPos;
    }
    this.items[pos] = item;
  }

  /** heapq._siftup: bubble the smaller child up to the leaf, then sift the item back down. */
  private siftUp(pos: number): void {
    const end = this.items.length;
    const start = pos;
    const item = this.items[pos] as T;
    let child = 2 * pos + 1;
    while (child < end) {
      const right = child + 1;
      if (right < end && !this.less(this.items[child] as T, this.items[right] as T)) child = right;
      this.items[pos] = this.items[child] as T;
      pos = child;
      child = 2 * pos + 1;
    }
    this.items[pos] = item;
    this.siftDown(start, pos);
  }
}
