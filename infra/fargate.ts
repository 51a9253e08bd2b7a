/**
 * Optional (COMPACTER_FARGATE_COMPACTOR=true): a Fargate task that runs `compacter compact`
 * with the same settings and resources as the compactor function, for partitions too large
 * for Lambda. The compactor function hands a job over with SST's `task.run(Resource.CompactorTask,
 * { COMPACTER_JOB })` when its estimate says the job would not fit, or when the job's last run
 * timed out (packages/functions/src/taskLauncher.ts); an operator can start it by hand
 * (`aws ecs run-task`, see docs/deploy.md, with the stage outputs below).
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

/**
 * Stage outputs (`sst deploy` prints them, .sst/outputs.json keeps them): everything
 * `aws ecs run-task` needs to start the task by hand (docs/deploy.md).
 */
export const compactorTaskOutputs = compactorTask
  ? {
      CompactorTaskCluster: compactorTask.cluster,
      CompactorTaskDefinition: compactorTask.taskDefinition,
      CompactorTaskSubnets: compactorTask.subnets,
      CompactorTaskSecurityGroups: compactorTask.securityGroups,
    }
  : {};
