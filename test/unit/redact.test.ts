/** Secret redaction: known formats, secret-named assignments, env values; linear on adversarial input. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { redact } from "../../src/util/redact.js";

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

test("adversarial input stays linear: a megabyte of identifier characters and separators", () => {
	const inputs = ["a".repeat(1 << 20), "a=".repeat(1 << 19), "token".repeat(200_000), "bearer ".repeat(150_000)];
	for (const input of inputs) assert.ok(redact(input).length > 0);
});
