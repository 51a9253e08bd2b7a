import { type Delivery, FaultyDelivery } from "@compacter/local";
import { afterEach, describe, expect, it, vi } from "vitest";

const delivery = (n: number): Delivery => ({ queueArn: "q", body: String(n) });

describe("FaultyDelivery", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("passes messages through unchanged without faults", () => {
    const sent: string[] = [];
    const faulty = new FaultyDelivery((d) => sent.push(d.body));
    for (let i = 0; i < 5; i++) faulty.deliver("b", delivery(i));
    expect(sent).toEqual(["0", "1", "2", "3", "4"]);
  });

  it("is reproducible from its seed", () => {
    const run = (seed: number) => {
      const sent: string[] = [];
      const faulty = new FaultyDelivery((d) => sent.push(d.body));
      faulty.setFaults("*", { duplicateProbability: 0.5, reorderWindow: 4, seed });
      for (let i = 0; i < 12; i++) faulty.deliver("b", delivery(i));
      faulty.flush();
      return sent;
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
    expect(new Set(run(3))).toEqual(new Set(Array.from({ length: 12 }, (_, i) => String(i))));
  });

  it("releases held messages after maxHoldMs", () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const faulty = new FaultyDelivery((d) => sent.push(d.body));
    faulty.setFaults("b", { reorderWindow: 10, maxHoldMs: 50 });
    faulty.deliver("b", delivery(1));
    faulty.deliver("b", delivery(2));
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(sent).toEqual(["2", "1"]);
  });

  it("applies a bucket's own faults before the default", () => {
    const sent: string[] = [];
    const faulty = new FaultyDelivery((d) => sent.push(d.body));
    faulty.setFaults("*", { duplicateProbability: 1 });
    faulty.setFaults("exact", { duplicateProbability: 0 });
    faulty.deliver("exact", delivery(1));
    faulty.deliver("other", delivery(2));
    expect(sent).toEqual(["1", "2", "2"]);
  });
});
