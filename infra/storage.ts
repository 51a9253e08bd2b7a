/**
 * The raw bucket (created, or an existing one referenced by name) and the lake bucket.
 *
 * Functions reach the buckets through two linkables rather than the buckets themselves:
 * linking an `sst.aws.Bucket` grants `s3:*`, and the compactor must never be able to change
 * raw data.
 */

import { stage, workerConfig } from "./deployConfig.js";
import { ABORT_MULTIPART_AFTER_DAYS, STAGING_EXPIRY_DAYS } from "./sizing.js";

const abortIncompleteUploads = {
  id: "abort-incomplete-multipart-uploads",
  status: "Enabled",
  filter: {},
  abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_MULTIPART_AFTER_DAYS },
};

function createRawBucket(): sst.aws.Bucket {
  const bucket = new sst.aws.Bucket("Raw");
  encryptAtRest("Raw", bucket);
  new aws.s3.BucketLifecycleConfiguration("RawLifecycle", {
    bucket: bucket.name,
    rules: [abortIncompleteUploads],
  });
  return bucket;
}

/** SSE-S3, stated rather than inherited from the account default, so a reviewer sees it. */
function encryptAtRest(name: string, bucket: sst.aws.Bucket): void {
  new aws.s3.BucketServerSideEncryptionConfiguration(`${name}Encryption`, {
    bucket: bucket.name,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
  });
}

/**
 * An existing bucket is only read and notified; its encryption, lifecycle and policy stay
 * its owner's business.
 */
export const rawBucket = stage.existingRawBucket
  ? sst.aws.Bucket.get("Raw", stage.existingRawBucket)
  : createRawBucket();

/** Public access is blocked and HTTPS enforced by the component's defaults. */
export const lakeBucket = new sst.aws.Bucket("Lake");
encryptAtRest("Lake", lakeBucket);

// The component's `lifecycle` option knows expiry only; aborting multipart uploads needs the
// resource itself (and a bucket takes exactly one lifecycle configuration).
new aws.s3.BucketLifecycleConfiguration("LakeLifecycle", {
  bucket: lakeBucket.name,
  rules: [
    abortIncompleteUploads,
    {
      id: "expire-staged-outputs",
      status: "Enabled",
      filter: { prefix: workerConfig.stagingPrefix },
      expiration: { days: STAGING_EXPIRY_DAYS },
    },
  ],
});

function objectArns(bucket: sst.aws.Bucket) {
  return [bucket.arn, $interpolate`${bucket.arn}/*`];
}

/**
 * Read-only access to raw files. `s3:ListBucket` is there so a missing key answers 404
 * (NoSuchKey: the object was deleted) instead of 403.
 */
export const rawBucketLink = new sst.Linkable("RawBucket", {
  properties: { name: rawBucket.name },
  include: [
    sst.aws.permission({
      actions: ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
      resources: objectArns(rawBucket),
    }),
  ],
});

/** Everything the compactor and the orphan sweep do to the lake: stage, publish, delete, list. */
export const lakeBucketLink = new sst.Linkable("LakeBucket", {
  properties: { name: lakeBucket.name },
  include: [
    sst.aws.permission({
      actions: [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
      ],
      resources: objectArns(lakeBucket),
    }),
  ],
});
