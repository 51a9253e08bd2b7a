/**
 * The generation's history record: written as the intent before the commit and kept as
 * history after it. Built in one place so the job's flow does not carry its arithmetic.
 */
import type { PartitionId } from "../layout/partitions.js";
import type { ConsumedFile, GenerationRecord, LakeFile, PlanKind } from "../manifest/model.js";
import type { EngineResult } from "./engine.js";
import type { CompactionPlan } from "./plan.js";

export interface GenerationFacts {
  readonly partition: PartitionId;
  readonly generation: number;
  readonly attemptId: string;
  readonly plan: CompactionPlan & { readonly kind: PlanKind };
  /** The lease owner, which names the worker. */
  readonly owner: string;
  readonly startedAtMs: number;
  readonly committedAt: string;
  readonly durationMs: number;
  readonly consumed: readonly ConsumedFile[];
  /** The lake files read, which a merge replaces (empty for an append). */
  readonly lakeInputs: readonly LakeFile[];
  readonly outputs: readonly LakeFile[];
  readonly staged: GenerationRecord["staged"];
  readonly result: EngineResult;
}

export function buildGenerationRecord(facts: GenerationFacts): GenerationRecord {
  const { plan, consumed, lakeInputs, outputs, result } = facts;
  return {
    partition: facts.partition,
    generation: facts.generation,
    attemptId: facts.attemptId,
    plan: plan.kind,
    reason: plan.reason,
    worker: facts.owner,
    startedAt: new Date(facts.startedAtMs).toISOString(),
    committedAt: facts.committedAt,
    durationMs: facts.durationMs,
    inputs: consumed,
    lakeInputs,
    outputs,
    replaced: lakeInputs,
    staged: facts.staged,
    rowsIn: result.files.reduce((n, f) => n + (f.outcome === "read" ? f.rows : 0), 0) + result.rowsFromLake,
    rowsOut: result.rowsOut,
    rowsDropped: result.rowsDropped,
    bytesIn: plan.read.reduce((n, f) => n + f.size, 0) + lakeInputs.reduce((n, f) => n + f.bytes, 0),
    bytesOut: outputs.reduce((n, f) => n + f.bytes, 0),
    lateFiles: plan.read.filter((f) => f.late).length,
    badLines: consumed.reduce((n, f) => n + f.badLines, 0),
    nulledValues: result.nulledValues,
    addedColumns: result.addedColumns,
    unstoredFields: result.conflictingFields ?? [],
    renamedFields: result.renamedFields ?? [],
    schemaColumns: result.schema.length,
  };
}
