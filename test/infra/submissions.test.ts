/**
 * Where Submit delivers: the stack's own bucket (private, encrypted, TLS-only, versioned, with a
 * lifecycle) or one named in the settings, the account's default bus or a named one, and only
 * the action-job function may write there.
 */
import { Match, type Template } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import { actionsOf, cleanup, iamStatements, synthWithoutBundling } from "./support";

afterAll(cleanup);

function environmentOf(template: Template, name: string): Record<string, unknown> {
  const functions = template.findResources("AWS::Lambda::Function", { Properties: { Description: Match.stringLikeRegexp(name) } });
  const [fn] = Object.values(functions) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
  return fn!.Properties.Environment.Variables;
}

describe("submissions, by default", () => {
  const { template, violations } = synthWithoutBundling();

  it("makes a private, encrypted, versioned bucket that expires replaced versions and abandoned uploads", () => {
    template.hasResource("AWS::S3::Bucket", {
      DeletionPolicy: "Retain",
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: { Status: "Enabled" },
        LifecycleConfiguration: {
          Rules: [
            Match.objectLike({
              NoncurrentVersionExpiration: { NoncurrentDays: 30 },
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
            }),
          ],
        },
      },
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]),
      },
    });
  });

  it("tells action-job alone where to deliver, on the default bus", () => {
    expect(environmentOf(template, "/action-job")).toMatchObject({
      SUBMISSIONS_BUCKET: { Ref: expect.stringMatching(/^SubmissionsBucket/) },
    });
    expect(environmentOf(template, "/action-job").SUBMISSIONS_EVENT_BUS).toBeUndefined();
    for (const other of ["/space-configure", "/commit-created"]) expect(environmentOf(template, other).SUBMISSIONS_BUCKET).toBeUndefined();
  });

  it("grants object writes under submissions/ and events:PutEvents, and stays nag clean", () => {
    const s3 = iamStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith("s3:")));
    // action-job's and the worker's (which carries a large submission on): the same five actions.
    expect([...new Set(s3.flatMap(actionsOf))].sort()).toEqual([
      "s3:AbortMultipartUpload",
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:PutObject",
    ]);
    expect(iamStatements(template).some((s) => actionsOf(s).includes("events:PutEvents"))).toBe(true);
    expect(violations).toEqual([]);
  });
});

describe("submissions to a bucket and bus the customer names", () => {
  const { template, violations } = synthWithoutBundling({
    submissionsBucket: "acme-flatfile-submissions",
    submissionsEventBus: "acme-integrations",
  });

  it("makes no bucket and points action-job at theirs", () => {
    template.resourceCountIs("AWS::S3::Bucket", 0);
    expect(environmentOf(template, "/action-job")).toMatchObject({
      SUBMISSIONS_BUCKET: "acme-flatfile-submissions",
      SUBMISSIONS_EVENT_BUS: "acme-integrations",
    });
    expect(violations).toEqual([]);
  });

  it("refuses a bucket name S3 would refuse, naming the key", () => {
    expect(() => synthWithoutBundling({ submissionsBucket: "Not_A_Bucket" })).toThrow(/submissionsBucket/);
  });
});
