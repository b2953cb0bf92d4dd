/**
 * What a resource name is (agents, teams, workflows, roles): lower-case letters, digits and dashes, at most 64.
 * One definition for the schema and for the light readers that take names from file names (the session's delegation
 * policy): a name that does not match is never shown anywhere, so a file name cannot carry text into a prompt.
 */
export const RESOURCE_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * What a model reference is, wherever one is given (resources and config): `provider/id`, or a name pi's registry
 * resolves before a run starts (a bare id, an alias such as `sonnet`; api/models.ts).
 */
export const MODEL_REF = /^\S+$/;
