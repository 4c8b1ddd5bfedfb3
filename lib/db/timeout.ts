/**
 * Waits for `work` at most `ms`: a socket that died silently never answers, and a check must
 * not wait on it for the statement timeout. Rejects after `ms` with an error naming `what`;
 * the work itself goes on, and its own late failure is ignored.
 */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  work.catch(() => undefined)
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to ${what} in ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Whether `work` settles within `ms` (a rejection counts: the error is the caller's to see).
 * Resolves as soon as either is known.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const settled = work.then(
    () => true,
    () => true,
  )
  try {
    return await Promise.race([settled, new Promise<boolean>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms), false)))])
  } finally {
    clearTimeout(timer)
  }
}
