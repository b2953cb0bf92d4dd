import assert from "node:assert/strict";
import { test } from "node:test";
import { average, sum } from "../src/stats.js";

test("sum adds the values", () => {
	assert.equal(sum([1, 2, 3]), 6);
});

test("average of [2, 4, 6] is 4", () => {
	assert.equal(average([2, 4, 6]), 4);
});
