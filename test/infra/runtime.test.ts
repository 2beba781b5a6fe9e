import { describe, expect, it } from "vitest";
import { LAMBDA_RUNTIME_NAME, NODE_TARGET } from "../../infra/bundling";
import { LAMBDA_RUNTIME } from "../../infra/runtime";
import { deployedNodeMajor, nodeVersionProblem } from "../support/node-version";

describe("one Node version, tested as deployed", () => {
  it("runs the tests on the Node major the functions deploy on (npm ci brings it through the node package)", () => {
    const deployedMajor = Number(/^node(\d+)$/.exec(NODE_TARGET)?.[1]);
    expect(LAMBDA_RUNTIME_NAME).toBe(`nodejs${deployedMajor}.x`);
    expect(Number(process.versions.node.split(".")[0])).toBe(deployedMajor);
  });

  it("resolves the runtime name to aws-cdk-lib's runtime object", () => {
    expect(LAMBDA_RUNTIME.name).toBe(LAMBDA_RUNTIME_NAME);
  });
});

describe("the suite's Node guard", () => {
  it("names the running and the deployed Node and how to get the right one", () => {
    const problem = nodeVersionProblem("20.20.2", 24);
    expect(problem).toContain("Node 20.20.2");
    expect(problem).toContain("nodejs24.x");
    expect(problem).toContain("npm ci");
    expect(problem).toContain("--ignore-scripts");
  });

  it("lets the deployed major through", () => {
    expect(nodeVersionProblem("24.21.0", 24)).toBeUndefined();
    expect(deployedNodeMajor("node24")).toBe(24);
  });
});
