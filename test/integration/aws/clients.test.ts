import { createServer, type Server } from "node:http";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { createAwsClients } from "@compacter/aws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";

const stack = useLocalStack();

describe("createAwsClients", () => {
  it("counts HTTP requests per service and operation, and resets", async () => {
    const resources = await stack.createResources("clients");
    const clients = createAwsClients({
      region: stack.region,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      endpoints: stack.endpoints,
    });
    try {
      await clients.s3.send(new PutObjectCommand({ Bucket: resources.lakeBucket, Key: "a", Body: "1" }));
      await clients.s3.send(new PutObjectCommand({ Bucket: resources.lakeBucket, Key: "b", Body: "2" }));
      const got = await clients.s3.send(new GetObjectCommand({ Bucket: resources.lakeBucket, Key: "a" }));
      expect(await got.Body?.transformToString()).toBe("1");
      await clients.sqs.send(new GetQueueUrlCommand({ QueueName: resources.names.ingestQueue }));
      await clients.dynamodb.send(new ListTablesCommand({}));
      expect(clients.requestCounts()).toEqual({
        "dynamodb:ListTables": 1,
        "s3:GetObject": 1,
        "s3:PutObject": 2,
        "sqs:GetQueueUrl": 1,
      });
      clients.resetRequestCounts();
      expect(clients.requestCounts()).toEqual({});
    } finally {
      clients.destroy();
    }
  });

  describe("against a server that always fails (a fault no emulator produces)", () => {
    let server: Server;
    let endpoint: string;
    beforeAll(async () => {
      server = createServer((_, response) => {
        response.writeHead(500, { "content-type": "application/xml" });
        response.end("<Error><Code>InternalError</Code><Message>boom</Message></Error>");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it("retries up to maxAttempts and counts every attempt: each is billed", async () => {
      const clients = createAwsClients({
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        endpoints: { s3: endpoint },
        maxAttempts: 3,
      });
      try {
        await expect(
          clients.s3.send(new PutObjectCommand({ Bucket: "b", Key: "k", Body: "x" })),
        ).rejects.toMatchObject({ $metadata: { httpStatusCode: 500, attempts: 3 } });
        expect(clients.requestCounts()).toEqual({ "s3:PutObject": 3 });
      } finally {
        clients.destroy();
      }
    });
  });

  it("takes endpoints from the SDK's own AWS_ENDPOINT_URL* variables, with path-style S3", async () => {
    const resources = await stack.createResources("clients-env");
    const vars = {
      AWS_ENDPOINT_URL: stack.endpoints.s3,
      AWS_ENDPOINT_URL_DYNAMODB: stack.endpoints.dynamodb,
      AWS_REGION: stack.region,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    };
    const saved = { ...process.env };
    Object.assign(process.env, vars);
    const clients = createAwsClients();
    try {
      await clients.s3.send(
        new PutObjectCommand({ Bucket: resources.lakeBucket, Key: "via-env", Body: "x" }),
      );
      const { TableNames } = await clients.dynamodb.send(new ListTablesCommand({}));
      expect(TableNames).toContain(resources.manifestTable);
      const { QueueUrl } = await clients.sqs.send(
        new GetQueueUrlCommand({ QueueName: resources.names.ingestQueue }),
      );
      expect(QueueUrl).toBe(resources.ingestQueueUrl);
    } finally {
      clients.destroy();
      for (const key of Object.keys(vars)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
