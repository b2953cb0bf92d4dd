/** Secret redaction: known formats, secret-named assignments, env values; linear on adversarial input. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { redact } from "../../src/util/redact.js";
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
