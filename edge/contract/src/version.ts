/** Every message that crosses edge ↔ runner ↔ web carries this; contracts only grow. */
export const CONTRACT_VERSION = 1 as const;
