/**
 * Vitest's global set-up: the suite runs only on the Node major the functions deploy on, so that
 * what passes here is what runs in Lambda. `npm ci` brings that Node through the `node` package,
 * whose install script an `--ignore-scripts` install skips, leaving the machine's Node in use.
 */
import { NODE_TARGET } from "../../infra/bundling";

export function deployedNodeMajor(target = NODE_TARGET): number {
  const major = Number(/^node(\d+)$/.exec(target)?.[1]);
  if (!Number.isInteger(major)) throw new Error(`infra/bundling.ts NODE_TARGET ${target} does not name a Node major`);
  return major;
}

export function nodeVersionProblem(running = process.versions.node, deployed = deployedNodeMajor()): string | undefined {
  const major = Number(running.split(".")[0]);
  if (major === deployed) return undefined;
  return (
    `The tests run on Node ${running}, but the functions deploy on Node ${deployed} (nodejs${deployed}.x). ` +
    `Run \`npm ci\` without --ignore-scripts (it installs Node ${deployed} through the "node" package), then \`npm test\`, ` +
    "which puts node_modules/.bin first on the PATH."
  );
}

export default function setup(): void {
  const problem = nodeVersionProblem();
  if (problem) throw new Error(problem);
}
