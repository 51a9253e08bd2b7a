import type { CompactionEngine, EngineResult } from "@compacter/core";

/** Wraps an engine to keep what its last jobs reported (stage timings, NULLed values). */
export function recordingEngine(
  engine: CompactionEngine,
): CompactionEngine & { readonly results: EngineResult[] } {
  const results: EngineResult[] = [];
  return {
    results,
    async compact(job) {
      const result = await engine.compact(job);
      results.push(result);
      return result;
    },
    close: () => engine.close(),
  };
}

export function nulledTotal(results: readonly EngineResult[]): number {
  return results.reduce((n, r) => n + Object.values(r.nulledValues).reduce((a, b) => a + b, 0), 0);
}
