import { buildEventRecord, decodeEventKey, encodeEventKey, SequencerClock } from "@compacter/local";
import { describe, expect, it } from "vitest";

describe("encodeEventKey", () => {
  it.each([
    ["a b+ä", "a+b%2B%C3%A4"],
    ["red flower.jpg", "red+flower.jpg"], // AWS's documented example
    ["BRCB/SLS30I001/2025121201/2025121201.txt.gz", "BRCB/SLS30I001/2025121201/2025121201.txt.gz"],
    ["d=2025-12-12/x", "d%3D2025-12-12/x"],
    ["k:v", "k%3Av"],
    [`it's "q"`, "it%27s+%22q%22"],
    ["~_.-", "~_.-"],
    ["(!*)", "%28%21%2A%29"],
    ["%2F", "%252F"],
    ["🚚", "%F0%9F%9A%9A"],
  ])("%s → %s", (key, encoded) => {
    expect(encodeEventKey(key)).toBe(encoded);
    expect(decodeEventKey(encoded)).toBe(key);
  });
});

describe("buildEventRecord", () => {
  const origin = { principalId: "AWS:AKID", sourceIPAddress: "127.0.0.1", requestId: "R1", hostId: "H1" };
  const base = {
    bucket: "raw",
    key: "a b",
    sequencer: "0A",
    eventTime: new Date("2025-12-12T01:02:03.004Z"),
  };

  it("strips the eTag's quotes and keeps size for creations", () => {
    const record = buildEventRecord(
      { ...base, eventName: "ObjectCreated:Put", size: 3, eTag: '"abc"' },
      origin,
      "cfg",
      "eu-west-1",
    );
    expect(record).toEqual({
      eventVersion: "2.1",
      eventSource: "aws:s3",
      awsRegion: "eu-west-1",
      eventTime: "2025-12-12T01:02:03.004Z",
      eventName: "ObjectCreated:Put",
      userIdentity: { principalId: "AWS:AKID" },
      requestParameters: { sourceIPAddress: "127.0.0.1" },
      responseElements: { "x-amz-request-id": "R1", "x-amz-id-2": "H1" },
      s3: {
        s3SchemaVersion: "1.0",
        configurationId: "cfg",
        bucket: { name: "raw", ownerIdentity: { principalId: expect.any(String) }, arn: "arn:aws:s3:::raw" },
        object: { key: "a+b", size: 3, eTag: "abc", sequencer: "0A" },
      },
    });
  });

  it("has no size or eTag for removals", () => {
    const record = buildEventRecord(
      { ...base, eventName: "ObjectRemoved:Delete" },
      origin,
      "cfg",
      "us-east-1",
    );
    expect(record.s3.object).toEqual({ key: "a+b", sequencer: "0A" });
  });
});

describe("SequencerClock", () => {
  it("is strictly increasing even when the clock stands still or goes back", () => {
    const times = [1000, 1000, 999, 1001];
    const clock = new SequencerClock(() => times.shift() ?? 0);
    const values = [clock.next(), clock.next(), clock.next(), clock.next()];
    expect(values.every((v) => /^[0-9A-F]{18}$/.test(v))).toBe(true);
    expect([...values].sort()).toEqual(values);
    expect(new Set(values).size).toBe(4);
  });

  it("starts above any value a previous run issued at an earlier time", () => {
    const earlier = new SequencerClock(() => 1_000);
    const earlierValues = Array.from({ length: 1000 }, () => earlier.next());
    const later = new SequencerClock(() => 1_001);
    expect(later.next() > earlierValues.at(-1)!).toBe(true);
  });
});
