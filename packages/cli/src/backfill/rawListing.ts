import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { unquote } from "@compacter/aws";
import { DAY_MS, dayStart, daysBetween, isoDay, type UtcOffset } from "@compacter/core";

/** An object as ListObjectsV2 reports it. */
export interface ListedObject {
  readonly key: string;
  /** Unquoted. */
  readonly eTag: string;
  readonly size: number;
  readonly lastModified: Date;
}

export interface FolderListing {
  /** Sub-folders (CommonPrefixes with Delimiter "/"), each ending in "/". */
  readonly folders: readonly string[];
  /** Objects directly in the folder. */
  readonly objects: readonly ListedObject[];
}

/** One level of a folder (Delimiter "/"), every page. */
export async function listFolder(s3: S3Client, bucket: string, prefix: string): Promise<FolderListing> {
  const folders: string[] = [];
  const objects: ListedObject[] = [];
  for await (const page of pages(s3, bucket, prefix, "/")) {
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) folders.push(p.Prefix);
    objects.push(...listed(page.Contents));
  }
  return { folders, objects };
}

/** Every object under a prefix, a page (≤ 1000 keys) at a time. */
export async function* listObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
): AsyncGenerator<readonly ListedObject[]> {
  for await (const page of pages(s3, bucket, prefix, undefined)) yield listed(page.Contents);
}

async function* pages(s3: S3Client, bucket: string, prefix: string, delimiter: string | undefined) {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(delimiter ? { Delimiter: delimiter } : {}),
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    yield page;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

function listed(
  contents: readonly { Key?: string; ETag?: string; Size?: number; LastModified?: Date }[] = [],
) {
  return contents
    .filter((o): o is typeof o & { Key: string } => o.Key !== undefined)
    .map((o) => ({
      key: o.Key,
      eTag: unquote(o.ETag),
      size: o.Size ?? 0,
      lastModified: o.LastModified ?? new Date(0),
    }));
}

/**
 * The key-hour folders (`YYYYMMDD`, a prefix of `YYYYMMDDHH`) that can hold files of the
 * partition days `from`..`to`. Key hours are in keyTimeZone, partition days in
 * partitionTimeZone: when the zones differ, a partition day spans parts of two key-days,
 * so the neighbouring key-day is listed too. The caller still filters each parsed key by
 * its partition day.
 */
export function keyDayFolders(
  range: { readonly from: string; readonly to: string },
  zones: { readonly keyTimeZone: UtcOffset; readonly partitionTimeZone: UtcOffset },
): string[] {
  const firstInstant = dayStart(range.from, zones.partitionTimeZone);
  const lastInstant = dayStart(range.to, zones.partitionTimeZone) + DAY_MS - 1;
  return daysBetween(isoDay(firstInstant, zones.keyTimeZone), isoDay(lastInstant, zones.keyTimeZone)).map(
    (day) => day.replaceAll("-", ""),
  );
}
