/**
 * Secret redaction for everything pi-crew writes (events, artifacts, transcripts). Linear time: fixed token formats,
 * `name=value` assignments whose name says secret, and the literal values of the secret-named variables in this
 * process's environment (so a key printed by a tool is caught whatever its format).
 */

const MASK = "[REDACTED]";

/** Well-known credential formats. Each is anchored on a literal prefix, so matching stays linear. */
const TOKEN_FORMATS = [
	/\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}/g, // OpenAI, Anthropic
	/\bgh[pousr]_[A-Za-z0-9]{30,}/g, // GitHub tokens
	/\bgithub_pat_[A-Za-z0-9_]{20,}/g,
	/\bAKIA[0-9A-Z]{16}\b/g, // AWS access key id
	/\bAIza[0-9A-Za-z_-]{35}/g, // Google API key
	/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, // Slack
	/\bglpat-[A-Za-z0-9_-]{20,}/g, // GitLab
	/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];

/**
 * `api_key=x`, `"password": "x"`, `GITHUB_TOKEN=x`: any `name = value` whose name says secret loses its value. The
 * name is matched from a word boundary, so a long identifier is scanned once (no quadratic backtracking).
 */
// The value stops at quotes and backslashes, so masking inside serialized JSON never breaks an escape.
const ASSIGNMENT = /\b([A-Za-z0-9_-]+)(["']?\s*[:=]\s*["']?)([^\s"'\\,;&]{8,})/g;
const BEARER = /\b(bearer\s+)([A-Za-z0-9._~+/=-]{8,})/gi;

/**
 * Names that hold secrets: they end in a secret word. `cacheKey`, `tokenizer`, `maxTokens` and `primaryKey` do not,
 * so code passed between tasks is not mangled. Tested on the lower-cased name.
 */
const SECRET_NAME =
	/(?:api[_-]?key|access[_-]?key|secret(?:[_-]?key)?|token|passw(?:or)?d|credentials?|private[_-]?key)$/;
const SECRET_ENV = /(?:^|_)(?:API_?KEY|ACCESS_?KEY|SECRET(?:_?KEY)?|KEY|TOKEN|PASSWORD|PASSWD|CREDENTIALS?)$/i;

/** A value that looks like a credential rather than code: letters and digits, or long and without call syntax. */
function looksSecret(value: string): boolean {
	return (/\d/.test(value) && /[A-Za-z]/.test(value)) || (value.length >= 20 && !/[.()]/.test(value));
}

let envValues: RegExp | null | undefined;

/** Literal values of this process's secret-named environment variables (computed once). */
function secretEnvValues(): RegExp | null {
	if (envValues !== undefined) return envValues;
	const values = Object.entries(process.env)
		.filter(([name, value]) => SECRET_ENV.test(name) && value && value.length >= 8)
		.map(([, value]) => (value as string).replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
		.sort((a, b) => b.length - a.length);
	envValues = values.length > 0 ? new RegExp(values.join("|"), "g") : null;
	return envValues;
}

/** A copy of a JSON-like value with every string in it redacted. */
export function redactStrings<T>(value: T): T {
	if (typeof value === "string") return redact(value) as T;
	if (Array.isArray(value)) return value.map(redactStrings) as T;
	if (value && typeof value === "object")
		return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactStrings(v)])) as T;
	return value;
}

export function redact(text: string): string {
	let out = text;
	const env = secretEnvValues();
	if (env) out = out.replace(env, MASK);
	for (const format of TOKEN_FORMATS) out = out.replace(format, MASK);
	out = out.replace(BEARER, (_, prefix: string) => `${prefix}${MASK}`);
	return out.replace(ASSIGNMENT, (whole, name: string, sep: string, value: string) =>
		SECRET_NAME.test(name.toLowerCase()) && looksSecret(value) ? `${name}${sep}${MASK}` : whole,
	);
}
