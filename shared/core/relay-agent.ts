/**
 * How the relay agent is recognised in a Flatfile environment: the one agent that carries this
 * slug. Registration (infra/relay), the sweep's relay check and `npm start`'s pull mode all use it.
 */
export const RELAY_AGENT_SLUG = "aws-signed-relay";

/** The log line of the sweep's relay check when the agent is missing or replaced; the stack's metric filter counts it. */
export const RELAY_AGENT_CHECK_FAILED = "relay agent not as deployed";

/** The relay's log line when it gave up on a delivery (infra/relay/forward.ts); the sweep counts these in the agent's logs. */
export const RELAY_GAVE_UP = "relay gave up";

/** The start of the relay's reason when our API refused its signature: the two sides hold different signing secrets. */
export const RELAY_SIGNATURE_REFUSED = "it answered HTTP 401 (invalid signature)";

/** The sweep's log line when the relay's own logs show deliveries it gave up on; the stack's metric filters count its fields. */
export const RELAY_GAVE_UP_SEEN = "the relay gave up on deliveries";
