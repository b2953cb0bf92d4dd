/** Secret redaction: known formats, secret-named assignments, env values; linear on adversarial input. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { LineRedactor, redact } from "../../src/util/redact.js";
import { ADVERSARIAL_REDACT_INPUTS } from "../support/fixtures.js";

test("known token formats, bearer tokens and secret-named values are masked; the rest is untouched", () => {
	const cases: [string, string][] = [
		["key sk-ant-api03-abcdefghijklmnopqrstuv in text", "key [REDACTED] in text"],
		["gh token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "gh token [REDACTED]"],
		["aws AKIAABCDEFGHIJKLMNOP", "aws [REDACTED]"],
		["curl -H 'Authorization: Bearer abc.def.ghi-jkl'", "curl -H 'Authorization: Bearer [REDACTED]'"],
		["export OPENAI_API_KEY=abcd1234efgh", "export OPENAI_API_KEY=[REDACTED]"],
		['{"password": "hunter2hunter2", "user": "bob"}', '{"password": "[REDACTED]", "user": "bob"}'],
		["db_passwd: s3cr3tvalue", "db_passwd: [REDACTED]"],
		["path=/usr/local/bin count=12345678", "path=/usr/local/bin count=12345678"],
		["token=short", "token=short"],
		["MY_PASSWORD=correcthorsebatterystaple", "MY_PASSWORD=[REDACTED]"],
		// Code and numbers that only look like assignments to secret-ish names stay intact.
		["const cacheKey = computeHash(input1);", "const cacheKey = computeHash(input1);"],
		["tokenizer = load_model(v2)", "tokenizer = load_model(v2)"],
		["primaryKey: users.id_column", "primaryKey: users.id_column"],
		["csrfToken = getToken()", "csrfToken = getToken()"],
		["token: process.env.GITHUB_TOKEN", "token: process.env.GITHUB_TOKEN"],
		['{"maxTokens":1000000}', '{"maxTokens":1000000}'],
	];
	for (const [input, expected] of cases) assert.equal(redact(input), expected, input);
});

test("the value of a secret-named environment variable is masked wherever it appears", async () => {
	process.env.PI_CREW_TEST_SECRET_TOKEN = "zz-unusual-format-value-42";
	const { redact: fresh } = await import(`../../src/util/redact.js?env=${Date.now()}`);
	assert.equal(fresh("echo zz-unusual-format-value-42 done"), "echo [REDACTED] done");
	delete process.env.PI_CREW_TEST_SECRET_TOKEN;
});

test("secrets inside JSON printed by a tool and embedded in a JSON line are masked; JSON stays valid", () => {
	const printed = JSON.stringify({ apiKey: "q8F2kLm9Zx0pQr7T", password: "hunter2hunter2", user: "bob" });
	const line = JSON.stringify({ type: "tool_execution_end", result: { text: printed } });
	const clean = redact(line);
	assert.doesNotMatch(clean, /q8F2kLm9Zx0pQr7T|hunter2hunter2/);
	assert.equal((JSON.parse(JSON.parse(clean).result.text) as { user: string }).user, "bob");
});

test("more formats: Stripe keys, URL credentials, Basic auth, private keys with or without an END line", () => {
	assert.equal(redact("key sk_live_51Habcdefghijklmnop1234"), "key [REDACTED]");
	assert.equal(redact("postgres://app:S3cretPass@db:5432/x"), "postgres://app:[REDACTED]@db:5432/x");
	assert.equal(redact("Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l"), "Authorization: Basic [REDACTED]");
	const key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc+/=\n-----END RSA PRIVATE KEY-----";
	assert.equal(redact(`before\n${key}\nafter`), "before\n[REDACTED]\nafter");
	assert.equal(redact("-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEA7cut"), "[REDACTED]");
});

test("a secret in a URL's query is masked, after the scheme and after other parameters", () => {
	assert.equal(
		redact("GET https://api.example.com/v1/items?page=2&api_key=abc123def456 200"),
		"GET https://api.example.com/v1/items?page=2&api_key=[REDACTED] 200",
	);
	assert.equal(redact("see https://h.example/x?token=abcd1234efgh"), "see https://h.example/x?token=[REDACTED]");
	assert.equal(redact("next=longervalue123?access_token=zz99yy88xx77"), "next=longervalue123?access_token=[REDACTED]");
	assert.equal(redact("https://example.com/docs/page"), "https://example.com/docs/page");
	// A `?` inside a secret value is part of it.
	assert.equal(redact("password=Pa?ssw0rd123xyz"), "password=[REDACTED]");
	assert.equal(redact('{"password": "Pa?ssw0rd123"}'), '{"password": "[REDACTED]"}');
	assert.equal(redact("DB_PASSWORD=abcd?efgh1234"), "DB_PASSWORD=[REDACTED]");
	assert.equal(redact("password=abcdefgh12?rest5678"), "password=[REDACTED]");
});

// No timing here (the time ratio is `npm run bench`'s redact section): at 1 Mi units per shape, a linear redactor
// does a few million steps per pattern and ends within seconds even on a loaded machine, while a pattern that rescans
// its input from each position needs ~10^12 steps. A regex blocks its thread, so it runs in a child the test can stop.
test("linear time: megabytes of adversarial input are redacted, not rescanned per position", async () => {
	const script = `
		import { redact } from ${JSON.stringify(new URL("../../src/util/redact.ts", import.meta.url).href)};
		import { ADVERSARIAL_REDACT_INPUTS } from ${JSON.stringify(new URL("../support/fixtures.ts", import.meta.url).href)};
		for (const [name, make] of ADVERSARIAL_REDACT_INPUTS) {
			const input = make(1 << 20);
			console.log(JSON.stringify([name, input.length, redact(input).length]));
		}`;
	const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
		encoding: "utf8",
		timeout: 90_000,
		killSignal: "SIGKILL",
	});
	const done = child.stdout
		.trim()
		.split("\n")
		.filter(Boolean)
		.map((l) => JSON.parse(l) as [string, number, number]);
	const stuck = ADVERSARIAL_REDACT_INPUTS[done.length]?.[0];
	assert.equal(
		child.status,
		0,
		`${stuck ? `still redacting "${stuck}" after 90 s: superlinear` : "failed"}\n${child.stderr}`,
	);
	assert.equal(done.length, ADVERSARIAL_REDACT_INPUTS.length);
	for (const [name, inLength, outLength] of done) assert.ok(outLength > 0 && outLength <= inLength + 16, name);
});

/** Secrets in the shapes they take in tool output, logs and configs: the part in «» must never survive. */
const SECRETS = [
	"ANTHROPIC_API_KEY=«sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv»",
	"openai «sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345»",
	"old openai «sk-AbCdEfGhIjKlMnOpQrStUvWx»",
	"google «AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW»",
	"aws «AKIAIOSFODNN7EXAMPLE»",
	"aws temp «ASIAIOSFODNN7EXAMPLE»",
	"aws_secret_access_key = «wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY»",
	"github «ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789»",
	"github app «ghs_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789»",
	"fine-grained «github_pat_11ABCDEFG0123456789_abcdefghijklmnop»",
	"gitlab «glpat-aBcDeFgHiJkLmNoPqRsTu»",
	"npm «npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789»",
	"//registry.npmjs.org/:_authToken=«npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789»",
	"slack «xoxb-123456789012-1234567890123-AbCdEfGhIjKl»",
	"slack user «xoxp-123456789012-123456789012-AbCdEfGh»",
	"webhook https://hooks.slack.com/services/«T01234567/B01234567/AbCdEfGhIjKlMnOpQrStUvWx»",
	"stripe «sk_live_51HabcdefghijklmnopQRSTU»",
	"stripe test «rk_test_51HabcdefghijklmnopQRSTU»",
	"jwt «eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U»",
	"Authorization: Bearer «abc.def-ghi_jkl»",
	"authorization: basic «YWxhZGRpbjpvcGVuc2VzYW1l»",
	"curl -H 'Authorization: Bearer «zzYYxx112233»'",
	"password=«correcthorsebattery»",
	"PASSWORD: «letmeinplease»",
	'{"password": "«hunter2hunter2»"}',
	'{"apiKey":"«q8F2kLm9Zx0pQr7T»"}',
	"db_passwd: «s3cr3tvalue»",
	"client_secret=«abcdefghijklmnop»",
	"SECRET_KEY = «djangoinsecurekeyvalue»",
	"x-api-key: «liveKeyAbcdefgh»",
	"api-key=«abcdefghijkl»",
	"access_token=«ya29.a0AfH6SMBx»",
	"refresh_token: «1//0gAbCdEfGhIjKl»",
	"private_key = «MIIEvQIBADANBgkq»",
	"credentials: «user-pass-pair»",
	"GET https://api.example.com/v1?page=2&api_key=«abcdefghijkl» 200",
	"https://h.example/x?token=«onlyletterstoken»",
	"postgres://app:«S3cretPass»@db:5432/x",
	"redis://:«hunter2hunter2»@cache:6379",
	"https://user:«pa55word»@git.example.com/repo.git",
	"-----BEGIN RSA PRIVATE KEY-----«\nMIIEowIBAAKCAQEA7\nabc+/=\n»-----END RSA PRIVATE KEY-----",
	"export GITHUB_TOKEN=«lettersonlytokenvalue»",
	"MY_GATEWAY_TOKEN=«gatewayvalue»",
];

/** Text that only looks like secrets: it must come out exactly as it went in. */
const INNOCENT = [
	"commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
	"merge 9fceb02d0ae598e95dc970b74767f19372d61af8 into main",
	"id 123e4567-e89b-12d3-a456-426614174000",
	"uuid: f47ac10b-58cc-4372-a567-0e02b2c3d479",
	"sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"integrity sha512-Q2hlY2sgdGhlIGNvZGUgaXMgbm90IGEgc2VjcmV0",
	"base64 of code: ZnVuY3Rpb24gYWRkKGEsIGIpIHsgcmV0dXJuIGEgKyBiOyB9",
	"const cacheKey = computeHash(input1);",
	"tokenizer = load_model(v2)",
	"primaryKey: users.id_column",
	"csrfToken = getToken()",
	"token: process.env.GITHUB_TOKEN",
	'{"maxTokens":1000000}',
	`password: $${"{DB_PASSWORD}"}`,
	"apiKey: {{ secrets.api_key }}",
	"password=<your-password>",
	"token=short",
	"token: [REDACTED]",
	"password: ********",
	"path=/usr/local/bin count=12345678",
	"https://example.com/docs/page",
	"https://github.com/earendil-works/pi/blob/main/packages/ai/src/api",
	"see https://example.com/search?q=tokenizer&page=2",
	"version 1.6.0 (node v22.23.5)",
	"Mon Nov 30 05:12:23 UTC 2026",
	"npm install @earendil-works/pi-coding-agent@1.6.0",
	"passwordless login is supported",
	"the token bucket refills every second",
	"function getSecret(name) { return vault.read(name); }",
	"if (password.length < 8) throw new Error('too short')",
	"keyboard shortcuts: ctrl+k",
	"monkey=banana",
	"secretary: Jane Doe",
	"tokens used: 12.4k of 200k",
	"skip_ci=true",
	"sku-12345678-ab",
	"ghost town",
	"AKIA is a prefix of AWS key ids",
	"eyJ alone is not a token",
	"Bearer tokens are sent in the Authorization header",
	"git log --oneline | head -3",
	"-----BEGIN PUBLIC KEY-----",
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
];

test("a corpus of secret shapes is masked, and as many innocent look-alikes stay readable", () => {
	assert.ok(SECRETS.length >= 40 && INNOCENT.length >= 40);
	for (const shape of SECRETS) {
		const secret = /«([\s\S]*?)»/.exec(shape)?.[1] ?? "";
		const text = shape.replace(/[«»]/g, "");
		const out = redact(text);
		assert.ok(!out.includes(secret), `${JSON.stringify(text)} -> ${JSON.stringify(out)}`);
		assert.match(out, /\[REDACTED\]/, text);
	}
	for (const text of INNOCENT) assert.equal(redact(text), text, text);
});

/** A PEM private key of `lines` body lines (base64-looking, none of them a known token on its own). */
const pem = (lines: number) => [
	"-----BEGIN RSA PRIVATE KEY-----",
	...Array.from({ length: lines }, (_, i) => `MIIEow${String(i).padStart(3, "0")}${"QkFTRTY0Ym9keWxpbmU".repeat(3)}`),
	"-----END RSA PRIVATE KEY-----",
];

test("output read line by line: a private key is masked from its BEGIN line to its END, body lines included", () => {
	const out: string[] = [];
	const redactor = new LineRedactor((line) => out.push(line));
	const key = pem(25);
	for (const line of ["before", `key: ${key[0]}`, ...key.slice(1, -1), `${key.at(-1)} after`, "next"])
		redactor.push(line);
	assert.deepEqual(out, ["before", "key: [REDACTED]", " after", "next"]);
	// Each body line alone passes a whole-text redactor: that is what the line redactor is for.
	assert.equal(redact(key[1] ?? ""), key[1]);
});

test("a BEGIN with no END within the bound masks what followed it (failing closed), then lines pass again", () => {
	const out: string[] = [];
	const redactor = new LineRedactor((line) => out.push(line));
	redactor.push("-----BEGIN OPENSSH PRIVATE KEY-----");
	const body = pem(700).slice(1, -1);
	for (const line of body) redactor.push(line);
	redactor.push("api_key=abcdefgh12345678 later");
	assert.equal(out[0], "[REDACTED]");
	assert.ok(out.length < body.length - 400, "the first lines after BEGIN are never passed on");
	assert.ok(!out.some((l) => body.slice(0, 500).includes(l)));
	assert.equal(out.at(-1), "api_key=[REDACTED] later", "lines after the bound are redacted as usual");
});

/** Keys whose BEGIN and body an older pattern missed: a PGP block (its name ends in BLOCK) and an encrypted PEM. */
const ODD_KEYS = [
	[
		"-----BEGIN PGP PRIVATE KEY BLOCK-----",
		"Version: GnuPG v2",
		"",
		"lQOYBGXpgpbody1AAAAsecretPGPbody",
		"=tX4c",
		"-----END PGP PRIVATE KEY BLOCK-----",
	],
	[
		"-----BEGIN RSA PRIVATE KEY-----",
		"Proc-Type: 4,ENCRYPTED",
		"DEK-Info: AES-128-CBC,3F17F5316E2BAC89C8A8D3E1F2A3B4C5",
		"",
		"MIIEencryptedPEMsecretBodyLine",
		"-----END RSA PRIVATE KEY-----",
	],
];

test("a PGP private key block and an encrypted PEM key are masked whole, in whole text and line by line", () => {
	for (const key of ODD_KEYS) {
		const text = ["before", ...key, "after"].join("\n");
		assert.equal(redact(text), "before\n[REDACTED]\nafter", key[0]);
		assert.equal(redact(JSON.stringify({ text })), JSON.stringify({ text: "before\n[REDACTED]\nafter" }), key[0]);
		assert.equal(redact(`before\n${key.slice(0, 4).join("\n")}`), "before\n[REDACTED]", "cut: masked to the end");
		const out: string[] = [];
		const redactor = new LineRedactor((line) => out.push(line));
		for (const line of ["before", ...key, "after"]) redactor.push(line);
		assert.deepEqual(out, ["before", "[REDACTED]", "after"], key[0]);
	}
});
