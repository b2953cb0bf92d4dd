/** Validation of parsed YAML against a TypeBox schema, reported as problems with file, line and field. */
import type { TSchema } from "typebox";
// typebox/schema is the standalone JSON Schema validator: a third of the load time of typebox/value.
import { Errors } from "typebox/schema";
import type { Problem, YamlSource } from "./yaml-source.js";

interface SchemaError {
	keyword: string;
	/** JSON pointer (`#/properties/...`) to the schema node that failed. */
	schemaPath?: string;
	instancePath: string;
	params: Record<string, unknown>;
	message: string;
}

export function checkSchema(schema: TSchema, src: YamlSource, file: string, hint?: string): Problem[] {
	const problems: Problem[] = [];
	const [, errors] = Errors(schema, src.value);
	for (const raw of errors) {
		const e = raw as unknown as SchemaError;
		if (e.keyword === "boolean") continue; // restates an additionalProperties error below
		const path = e.instancePath
			.split("/")
			.slice(1)
			.map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, "/").replace(/~0/g, "~")));
		const field = path.join(".");
		if (e.keyword === "additionalProperties") {
			for (const key of (e.params.additionalProperties as string[]) ?? []) {
				const name = field ? `${field}.${key}` : key;
				problems.push({
					file,
					line: src.lineOf([...path, key]),
					field: name,
					message: "unknown field",
					hint: hint ?? "remove it or fix its spelling",
				});
			}
		} else if (e.keyword === "required") {
			for (const key of (e.params.requiredProperties as string[]) ?? []) {
				const name = field ? `${field}.${key}` : key;
				problems.push({
					file,
					line: src.lineOf(path),
					field: name,
					message: "missing required field",
					hint: hint ?? `add '${key}:'`,
				});
			}
		} else {
			// A field whose schema says what it is (its `description`) tells it: "must match pattern" alone does not.
			const said = describedAt(schema, e.schemaPath);
			problems.push({
				file,
				line: src.lineOf(path),
				field: field || undefined,
				message: e.message,
				hint: hint ?? said,
			});
		}
	}
	return problems;
}

/** The `description` of the schema node at a JSON pointer (`#/properties/a/items`), if it has one. */
function describedAt(schema: TSchema, pointer: string | undefined): string | undefined {
	let node: unknown = schema;
	for (const part of (pointer ?? "").replace(/^#\/?/, "").split("/").filter(Boolean)) {
		if (typeof node !== "object" || node === null) return undefined;
		node = (node as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
	}
	const description = (node as { description?: unknown } | undefined)?.description;
	return typeof description === "string" ? description : undefined;
}
