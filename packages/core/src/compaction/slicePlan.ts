/**
 * How a merge too large for one job is cut into device-range slices (DESIGN.md
 * "Compaction": no job's memory, temp disk or time grows with the partition). Pure: the
 * partition's raw file records in, contiguous device ranges out.
 *
 * A slice is the half-open range [fromDevice, toDevice) in UTF-8 byte order — the order
 * DuckDB compares VARCHARs in, so the range tested in SQL is the one planned here. The
 * first slice has no lower bound and the last no upper bound: every row of the partition
 * falls in exactly one slice, even a row whose device the plan never saw.
 */
import { FILE_STATUS, type RawFileRecord } from "../manifest/model.js";

export interface DeviceRange {
  /** Inclusive lower bound; absent for the first slice. */
  readonly fromDevice?: string;
  /** Exclusive upper bound; absent for the last slice. */
  readonly toDevice?: string;
}

export interface PlannedSlice extends DeviceRange {
  readonly index: number;
  /** The devices planned into it, in order (for logs and tests; the range decides). */
  readonly devices: readonly string[];
  /** Estimated input: the raw gzip bytes of its devices' files. */
  readonly inputBytes: number;
}

/**
 * UTF-8 byte order of two strings, which is code point order (JS `<` compares UTF-16
 * code units, which puts U+10000 and above before U+E000–U+FFFF).
 */
export function compareUtf8(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const diff = (x.value.codePointAt(0) ?? 0) - (y.value.codePointAt(0) ?? 0);
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
}

export function inDeviceRange(deviceId: string, range: DeviceRange): boolean {
  return (
    (range.fromDevice === undefined || compareUtf8(deviceId, range.fromDevice) >= 0) &&
    (range.toDevice === undefined || compareUtf8(deviceId, range.toDevice) < 0)
  );
}

/**
 * Input bytes per device of a merge: the raw gzip bytes of every file whose rows are in
 * the lake or are read now. Gzip bytes stand in for both (Parquet is ~0.5× of them), so
 * a device's share of the lake files is known without opening them.
 */
export function deviceInputBytes(files: readonly RawFileRecord[]): Map<string, number> {
  const bytes = new Map<string, number>();
  for (const f of files) {
    const inLake = f.compactedETag !== undefined;
    if (f.status === FILE_STATUS.pending || (f.status === FILE_STATUS.compacted && inLake)) {
      bytes.set(f.deviceId, (bytes.get(f.deviceId) ?? 0) + f.size);
    }
  }
  return bytes;
}

/**
 * Cuts devices (in byte order) into contiguous slices of at most `maxSliceInputBytes`
 * each; a device larger than that alone is a slice of its own (a device's rows are never
 * split, so one device-hour file is the smallest unit of work). The slices are evened
 * out: n slices of about total/n each, rather than full slices and a sliver at the end.
 */
export function planSlices(
  deviceBytes: ReadonlyMap<string, number>,
  maxSliceInputBytes: number,
): PlannedSlice[] {
  if (!(maxSliceInputBytes > 0))
    throw new RangeError(`maxSliceInputBytes must be positive, got ${maxSliceInputBytes}`);
  const devices = [...deviceBytes.keys()].sort(compareUtf8);
  const total = devices.reduce((n, d) => n + (deviceBytes.get(d) ?? 0), 0);
  const target = total / Math.max(1, Math.ceil(total / maxSliceInputBytes));
  const groups: { devices: string[]; bytes: number }[] = [];
  let current: { devices: string[]; bytes: number } = { devices: [], bytes: 0 };
  for (const device of devices) {
    const size = deviceBytes.get(device) ?? 0;
    const full = current.bytes >= target || current.bytes + size > maxSliceInputBytes;
    if (current.devices.length > 0 && full) {
      groups.push(current);
      current = { devices: [], bytes: 0 };
    }
    current.devices.push(device);
    current.bytes += size;
  }
  groups.push(current);
  return groups.map((g, index) => {
    const next = groups[index + 1]?.devices[0];
    return {
      index,
      ...(index > 0 && g.devices[0] !== undefined ? { fromDevice: g.devices[0] } : {}),
      ...(next !== undefined ? { toDevice: next } : {}),
      devices: g.devices,
      inputBytes: g.bytes,
    };
  });
}
