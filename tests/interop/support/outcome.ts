// Page-side: every call into a client bounded in time, so that one that
// never answers ends with a reason instead of hanging its caller.
export type Outcome<T> = { ok: true; ms: number; value: T } | { ok: false; ms: number; error: string };

export function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

export async function bounded<T>(what: string, timeoutMs: number, run: () => Promise<T>): Promise<Outcome<T>> {
  const start = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const value = await Promise.race([
      run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - start), value };
  } catch (e) {
    return { ok: false, ms: Math.round(performance.now() - start), error: describe(e) };
  } finally {
    clearTimeout(timer);
  }
}
