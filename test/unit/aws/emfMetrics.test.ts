import { EmfMetrics } from "@compacter/aws";
import { createLogger, METRICS, point } from "@compacter/core";
import { describe, expect, it } from "vitest";
import { parseEmf } from "../../helpers/emf.js";

describe("EmfMetrics", () => {
  it("writes one EMF line per dimension set, Stage on every one, values as CloudWatch reads them", () => {
    const lines: string[] = [];
    const metrics = new EmfMetrics({ stage: "prod", write: (line) => lines.push(line) });
    metrics.publish([
      point(METRICS.rowsOut, 10),
      point(METRICS.compactions, 1, { Plan: "merge", Outcome: "committed" }),
      point(METRICS.rowsOut, 5),
      point(METRICS.lakeFreshness, 12.5),
    ]);
    expect(lines).toHaveLength(2);
    expect(parseEmf(lines).map((d) => [d.name, d.unit, d.dimensions, d.dimensionValues, d.values])).toEqual([
      ["RowsOut", "Count", ["Stage"], { Stage: "prod" }, [10, 5]],
      ["LakeFreshness", "Seconds", ["Stage"], { Stage: "prod" }, [12.5]],
      [
        "Compactions",
        "Count",
        ["Stage", "Plan", "Outcome"],
        { Stage: "prod", Plan: "merge", Outcome: "committed" },
        [1],
      ],
    ]);
    // Nothing carries over to the next publish.
    metrics.publish([point(METRICS.rowsOut, 1)]);
    expect(parseEmf(lines.slice(2)).map((d) => [d.name, d.values])).toEqual([["RowsOut", [1]]]);
  });

  it("never fails the work it measures: a write that throws is logged", () => {
    const logged: Record<string, unknown>[] = [];
    const metrics = new EmfMetrics({
      stage: "prod",
      write: () => {
        throw new Error("EPIPE");
      },
      log: createLogger({ sink: (line) => logged.push(JSON.parse(line)) }),
    });
    expect(() => metrics.publish([point(METRICS.rowsOut, 1)])).not.toThrow();
    expect(logged[0]).toMatchObject({
      level: "warn",
      msg: "could not publish metrics",
      error: { message: "EPIPE" },
    });
  });
});
