import { formatRawKey, parseRawKey, parseUtcOffset, type RawKeyLayout } from "@compacter/core";
import { describe, expect, it } from "vitest";

const layout = (rawPrefix = "", key = "+08:00", partition = "+08:00"): RawKeyLayout => ({
  rawPrefix,
  keyTimeZone: parseUtcOffset(key),
  partitionTimeZone: parseUtcOffset(partition),
});

describe("parseRawKey", () => {
  it("reads district, device, hour and partition day from a well-formed key", () => {
    const parsed = parseRawKey("BRCB/SLS30I001/2025121201/2025121201.txt.gz", layout());
    expect(parsed).toEqual({
      ok: true,
      value: {
        key: "BRCB/SLS30I001/2025121201/2025121201.txt.gz",
        district: "BRCB",
        deviceId: "SLS30I001",
        hourKey: "2025121201",
        hourStartMs: Date.parse("2025-12-11T17:00:00Z"),
        partition: { day: "2025-12-12", district: "BRCB" },
      },
    });
  });

  it("puts an hour in the partition day of its start, seen in the partition zone", () => {
    // 00:00 at +08:00 is 21:30 the previous day at +05:30 (a half-hour zone).
    const parsed = parseRawKey("BRCB/D1/2025121200/2025121200.txt.gz", layout("", "+08:00", "+05:30"));
    expect(parsed.ok && parsed.value.partition.day).toBe("2025-12-11");
    const utc = parseRawKey("BRCB/D1/2025121223/2025121223.txt.gz", layout("", "-03:30", "UTC"));
    expect(utc.ok && utc.value.partition.day).toBe("2025-12-13");
  });

  it("honours the raw prefix", () => {
    expect(parseRawKey("raw/BRCB/D1/2025121201/2025121201.txt.gz", layout("raw/")).ok).toBe(true);
    expect(parseRawKey("other/BRCB/D1/2025121201/2025121201.txt.gz", layout("raw/"))).toEqual({
      ok: false,
      reason: "key is outside the raw prefix 'raw/'",
    });
  });

  it.each([
    ["BRCB/D1/2025121201.txt.gz", /3 path segment/],
    ["BRCB/D1/x/2025121201/2025121201.txt.gz", /5 path segment/],
    ["BRCB/D1/2025121201/2025121202.txt.gz", /folder hour 2025121201 does not match file hour/],
    ["BRCB/D1/2025021301/2025021301.json.gz", /does not end with \.txt\.gz/],
    ["BRCB/D1/2025023001/2025023001.txt.gz", /not a real date/],
    ["BRCB/D1/2025121224/2025121224.txt.gz", /not a real date/],
    ["BRCB/D1/20251212/20251212.txt.gz", /not an hour in YYYYMMDDHH/],
    ["/D1/2025121201/2025121201.txt.gz", /district segment is empty/],
    ["BR CB/D1/2025121201/2025121201.txt.gz", /characters outside/],
    ["BRCB/ /2025121201/2025121201.txt.gz", /device id segment is empty/],
  ])("rejects %s with a reason", (key, reason) => {
    const parsed = parseRawKey(key, layout());
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toMatch(reason);
  });

  it("keeps odd device ids verbatim and round-trips them through formatRawKey", () => {
    const deviceId = "SLS 30'ä+\"x";
    const key = formatRawKey(
      { district: "BRCB", deviceId, hourStartMs: Date.parse("2025-12-11T17:00:00Z") },
      layout(),
    );
    expect(key).toBe(`BRCB/${deviceId}/2025121201/2025121201.txt.gz`);
    const parsed = parseRawKey(key, layout());
    expect(parsed.ok && parsed.value.deviceId).toBe(deviceId);
  });
});

describe("parseUtcOffset", () => {
  it.each([
    ["+08:00", 480],
    ["-03:30", -210],
    ["+0545", 345],
    ["UTC", 0],
    ["Z", 0],
  ])("%s → %i minutes", (text, minutes) => {
    expect(parseUtcOffset(text).minutes).toBe(minutes);
  });

  it.each(["Asia/Perth", "+8", "+15:00", "08:00"])("refuses %s", (text) => {
    expect(() => parseUtcOffset(text)).toThrow(RangeError);
  });
});
