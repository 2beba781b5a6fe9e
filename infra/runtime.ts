/**
 * The Lambda runtime object for bundling.ts's LAMBDA_RUNTIME_NAME, kept apart so that
 * `npm run build` (which imports bundling.ts) does not load aws-cdk-lib.
 */
import { Runtime } from "aws-cdk-lib/aws-lambda";
import { LAMBDA_RUNTIME_NAME } from "./bundling";

const known = Runtime.ALL.find((runtime) => runtime.name === LAMBDA_RUNTIME_NAME);
if (!known) throw new Error(`aws-cdk-lib does not know the runtime ${LAMBDA_RUNTIME_NAME}`);

export const LAMBDA_RUNTIME: Runtime = known;
