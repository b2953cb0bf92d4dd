/**
 * Secret redaction for everything pi-crew writes (events, artifacts, transcripts). Linear time: fixed token formats,
 * `name=value` assignments whose name says secret, and the literal values of the secret-named variables in this
 * process's environment (so a key printed by a tool is caught whatever its format).
 */

const MASK = "[REDACTED]";

/** Well-known credential formats. Each starts at a literal prefix and is bounded, so matching stays linear. */
const TOKEN_FORMATS = [
	/\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}/g, // OpenAI, Anthropic
	/\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}/g, // Stripe
	/\bgh[pousr]_[A-Za-z0-9]{30,}/g, // GitHub tokens
	/\bgithub_pat_[A-Za-z0-9_]{20,}/g,
	/\bAIza[0-9A-Za-z_-]{35}/g, // Google API key
	/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, // Slack
	/\bglpat-[A-Za-z0-9_-]{20,}/g, // GitLab
	/\bnpm_[A-Za-z0-9]{36}\b/g, // npm
	/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, // AWS access key ids (long-term, temporary)
	/\bhooks\.slack\.com\/services\/[A-Za-z0-9/]{20,120}/g, // Slack webhook
	/\beyJ[A-Za-z0-9_-]{8,512}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{8,1024}/g, // JWT (header and claims are JSON)
	/\bsk-proj-[A-Za-z0-9_-]{20,}/g, // OpenAI project keys
];

/**
 * A private key's first and last lines: PEM, OpenSSH, PKCS#8, PGP's `PRIVATE KEY BLOCK`. Between them anything goes
 * (an encrypted PEM's `Proc-Type:` and `DEK-Info:` lines, PGP's headers and checksum, `\n` escapes of JSON lines).
 */
const KEY_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY[A-Z0-9 ]{0,20}-----/;
const KEY_END = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY[A-Z0-9 ]{0,20}-----/;
/** A key with no END within this many characters (or lines, read line by line) is cut off: all of it stays masked. */
const KEY_MAX_CHARS = 128 * 1024;
const KEY_MAX_LINES = 500;
/**
 * The whole-text rule: BEGIN through the first END within the bound; without one, through the bound or the end of
 * the text (failing closed). Each match scans at most the bound past its BEGIN and consumes what it scanned (or the
 * bound), so the pass stays linear.
 */
const PRIVATE_KEY = new RegExp(
	`${KEY_BEGIN.source}(?:[\\s\\S]{0,${KEY_MAX_CHARS}}?${KEY_END.source}|[\\s\\S]{0,${KEY_MAX_CHARS}})`,
	"g",
);

/**
 * `api_key=x`, `"password": "x"`, `GITHUB_TOKEN=x`, and the same inside a JSON string (`\"password\":\"x\"`): any
 * `name = value` whose name says secret loses its value. A name starts only where an identifier starts and is at
 * most 64 characters, so no input makes the matcher quadratic. The value stops at quotes and backslashes, so
 * masking inside serialized JSON never breaks an escape; `scheme://` is not an assignment (it would swallow a whole
 * URL). Query parameters get a pass of their own first, since a value may hold a `?`.
 */
const ASSIGNMENT = /(?<![A-Za-z0-9_-])([A-Za-z0-9_-]{1,64})(\\?["']?\s*(?:=|:(?!\/\/))\s*\\?["']?)([^\s"'\\,;&]{8,})/g;
/** A URL query parameter (`?api_key=…`, `&token=…`): seen on its own, whatever came before it. */
const QUERY_PARAMETER = /([?&])([A-Za-z0-9_.-]{1,64})=([^&#\s"'\\]{8,})/g;
const AUTH_HEADER = /\b((?:bearer|basic)\s+)([A-Za-z0-9._~+/=-]{8,})/gi;
/** `scheme://user:password@host`: the password goes. */
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]{0,20}:\/\/[^\s/:@]{0,128}:)([^\s/@]{1,256})(@)/gi;

/**
 * Names that hold secrets: they end in a secret word. `cacheKey`, `tokenizer`, `maxTokens` and `primaryKey` do not,
 * so code passed between tasks is not mangled. Tested on the lower-cased name.
 */
const SECRET_NAME =
	/(?:api[_-]?key|access[_-]?key|secret(?:[_-]?key)?|token|passw(?:or)?d|credentials?|private[_-]?key)$/;
const SECRET_ENV = /(?:^|_)(?:API_?KEY|ACCESS_?KEY|SECRET(?:_?KEY)?|KEY|TOKEN|PASSWORD|PASSWD|CREDENTIALS?)$/i;

/**
 * Whether the value of a secret-named field is a secret: anything but code that reads one (a call, a property path
 * such as `process.env.GITHUB_TOKEN`, a template placeholder) or a value already masked. Fails closed: a value of
 * letters only (`password=correcthorse`) is a secret too.
 */
function looksSecret(value: string): boolean {
	if (/[()]/.test(value)) return false; // getToken(), os.getenv("X")
	// A property path of words (process.env.GITHUB_TOKEN, config.apiKey), not a dotted token (ya29.a0AfH6SMBx).
	if (/^[A-Za-z_$][A-Za-z_$]*(?:\.[A-Za-z_$][A-Za-z_$]*)+$/.test(value)) return false;
	if (/^(?:\$\{?|%|\{\{|<)/.test(value)) return false; // ${TOKEN}, %TOKEN%, {{ token }}, <your-token>
	if (/^\[?REDACTED\]?$|^\*+$|^x+$/i.test(value)) return false;
	return true;
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

/** A URL as pi-crew shows it (config, exports, failure reports): its origin only, as a path or query may hold a token. */
export function urlShown(url: string): string {
	try {
		return new URL(url).origin;
	} catch {
		return "(invalid URL)";
	}
}

/** A configured command as pi-crew shows it: its program and how many arguments (which may hold a token) follow. */
export function commandShown(command: readonly string[]): string {
	const args = command.length - 1;
	return `${command[0]}${args > 0 ? ` + ${args} argument${args === 1 ? "" : "s"}` : ""}`;
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
	out = out.replace(PRIVATE_KEY, MASK);
	for (const format of TOKEN_FORMATS) out = out.replace(format, MASK);
	out = out.replace(AUTH_HEADER, (_, prefix: string) => `${prefix}${MASK}`);
	out = out.replace(URL_CREDENTIALS, (_, head: string, _secret: string, at: string) => `${head}${MASK}${at}`);
	out = out.replace(QUERY_PARAMETER, (whole, lead: string, name: string, value: string) =>
		SECRET_NAME.test(name.toLowerCase()) && looksSecret(value) ? `${lead}${name}=${MASK}` : whole,
	);
	return out.replace(ASSIGNMENT, (whole, name: string, sep: string, value: string) =>
		SECRET_NAME.test(name.toLowerCase()) && looksSecret(value) ? `${name}${sep}${MASK}` : whole,
	);
}

/**
 * Redaction of output that arrives line by line (a command's stdout, a worker's stderr). Each line is redacted, and a
 * private key is masked from its BEGIN line to its END line: its body lines are dropped, never passed on one at a
 * time (a body line alone looks like nothing). Nothing is held back: the mask goes out at BEGIN, so output keeps
 * streaming. Without an END within KEY_MAX_LINES lines or KEY_MAX_CHARS characters, what followed the BEGIN stays
 * masked (failing closed) and lines pass again from there.
 */
export class LineRedactor {
	/** Inside a key: lines and characters dropped so far. */
	private key: { lines: number; chars: number } | undefined;

	constructor(private readonly emit: (line: string) => void) {}

	push(line: string): void {
		const inKey = this.key !== undefined;
		let out = "";
		let rest = line;
		for (;;) {
			if (this.key) {
				const end = KEY_END.exec(rest);
				if (!end) {
					this.key.lines++;
					this.key.chars += rest.length;
					if (this.key.lines > KEY_MAX_LINES || this.key.chars > KEY_MAX_CHARS) this.key = undefined;
					break;
				}
				this.key = undefined;
				rest = rest.slice(end.index + end[0].length);
				continue;
			}
			const begin = KEY_BEGIN.exec(rest);
			if (!begin) {
				out += rest;
				break;
			}
			out += `${rest.slice(0, begin.index)}${MASK}`;
			this.key = { lines: 0, chars: 0 };
			rest = rest.slice(begin.index + begin[0].length);
		}
		// A line that began inside a key and holds nothing after its END is dropped; any other goes out, redacted.
		if (out || !inKey) this.emit(redact(out));
	}
}
