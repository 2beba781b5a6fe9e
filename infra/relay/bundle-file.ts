/** The bundled agent's file name, next to the register handler in its Lambda asset. */
export const RELAY_AGENT_FILE = "relay-agent.js";
