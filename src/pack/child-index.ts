// The children of every node of a tree held as a column of parents (TOP: -1),
// in one pass: node p's children are kids[start[p + 1]] up to kids[start[p + 2]],
// in the order the nodes were made (TOP's are at slot 0).

export interface ChildIndex {
  start: Int32Array;
  kids: Int32Array;
}

export function childIndex(parents: Int32Array, n: number): ChildIndex {
  const start = new Int32Array(n + 2);
  for (let i = 0; i < n; i++) (start[(parents[i] as number) + 2] as number)++;
  for (let s = 1; s < n + 2; s++) start[s] = (start[s] as number) + (start[s - 1] as number);
  const kids = new Int32Array(n);
  const fill = start.slice(0, n + 1);
  for (let i = 0; i < n; i++) {
    const s = (parents[i] as number) + 1;
    kids[fill[s] as number] = i;
    fill[s] = (fill[s] as number) + 1;
  }
  return { start, kids };
}
