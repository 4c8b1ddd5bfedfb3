/**
 * What the benches print of their per-round samples: the median (the upper middle of an even
 * count) and the quartiles around it.
 */
const sorted = (list: readonly number[]) => [...list].sort((a, b) => a - b)

export function median(list: readonly number[]): number {
  return sorted(list)[Math.floor(list.length / 2)] as number
}

/** `q1-q3`, each with `digits` decimals. */
export function quartiles(list: readonly number[], digits: number): string {
  const ordered = sorted(list)
  return `${(ordered[Math.floor(ordered.length / 4)] as number).toFixed(digits)}-${(ordered[Math.floor((3 * ordered.length) / 4)] as number).toFixed(digits)}`
}
