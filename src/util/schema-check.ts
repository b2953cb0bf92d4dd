/** Validation of parsed YAML against a TypeBox schema, reported as problems with file, line and field. */
import type { TSchema } from "typebox";
// typebox/schema is the standalone JSON Schema validator: a third of the load time of typebox/value.
import { Errors } from "typebox/schema";
import type { Problem, YamlSource } from "./yaml-source.js";

interface SchemaError {
	keyword: string;
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
			problems.push({ file, line: src.lineOf(path), field: field || undefined, message: e.message, hint });
		}
	}
	return problems;
}
