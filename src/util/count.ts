/** A count and its noun in the form that agrees with it: "1 file", "0 files", "2 directories". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
