/**
 * Optional (COMPACTER_FARGATE_COMPACTOR=true): a Fargate task that runs `compacter compact`
 * with the same settings and resources as the compactor function, for partitions too large
 * for Lambda. Nothing runs it on a schedule: an operator starts it (`aws ecs run-task`, see
 * docs/deploy.md), or the compactor function hands a partition over with SST's
 * `task.run(Resource.CompactorTask, …)` — the function is linked to it when it exists.
 *
 * Costs nothing while idle. The VPC has no NAT gateway: tasks get a public IP in a public
 * subnet and reach S3, SQS and DynamoDB over the internet.
 */
import { SETTINGS } from "../packages/core/src/config/settings.js";
import { catalogLink } from "./catalog.js";
import { stage } from "./deployConfig.js";
import { workerEnvironment } from "./environment.js";
import { manifestTable } from "./manifest.js";
import { COMPACTOR, FARGATE_COMPACTOR, LAMBDA_ARCHITECTURE } from "./sizing.js";
import { lakeBucketLink, rawBucketLink } from "./storage.js";

function createCompactorTask(): sst.aws.Task {
  const vpc = new sst.aws.Vpc("Vpc");
  const cluster = new sst.aws.Cluster("Cluster", { vpc });
  const duckdbMemoryMiB = Math.floor(FARGATE_COMPACTOR.memoryGb * 1024 * COMPACTOR.duckdbMemoryShare);
  return new sst.aws.Task("CompactorTask", {
    cluster,
    architecture: LAMBDA_ARCHITECTURE,
    cpu: FARGATE_COMPACTOR.cpu,
    memory: `${FARGATE_COMPACTOR.memoryGb} GB`,
    storage: `${FARGATE_COMPACTOR.storageGb} GB`,
    image: { context: ".", dockerfile: "infra/compactor.Dockerfile" },
    command: ["compact"],
    link: [manifestTable, rawBucketLink, lakeBucketLink, catalogLink],
    environment: workerEnvironment({ [SETTINGS.memoryLimitBytes.env]: `${duckdbMemoryMiB}MiB` }),
  });
}

export const compactorTask = stage.fargateCompactor ? createCompactorTask() : undefined;
