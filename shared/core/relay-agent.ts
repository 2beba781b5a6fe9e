/**
 * How the relay agent is recognised in a Flatfile environment: the one agent that carries this
 * slug. Registration (infra/relay), the sweep's relay check and `npm start`'s pull mode all use it.
 */
export const RELAY_AGENT_SLUG = "aws-signed-relay";

/** The log line of the sweep's relay check when the agent is missing or replaced; the stack's metric filter counts it. */
export const RELAY_AGENT_CHECK_FAILED = "relay agent not as deployed";
