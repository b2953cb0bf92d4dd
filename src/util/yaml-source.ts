/** YAML parsing that keeps line numbers, so every problem can name the file, line and field. */
import { type Document, isMap, isNode, isScalar, LineCounter, parseDocument, visit } from "yaml";

/** The `yaml` library's own alias limit (its `maxAliasCount` default), named in the problem it becomes. */
const MAX_YAML_ALIASES = 100;

export interface Problem {
	/** Errors make a resource unusable (exit 2); warnings are reported and the rest goes on. */
	severity?: "error" | "warning";
	file: string;
	line?: number;
	field?: string;
	message: string;
	hint?: string;
}

export function formatProblem(p: Problem): string {
	const where = p.line ? `${p.file}:${p.line}` : p.file;
	const level = p.severity === "warning" ? "warning: " : "";
	const field = p.field ? ` [${p.field}]` : "";
	const hint = p.hint ? `\n    fix: ${p.hint}` : "";
	return `${where}${field}: ${level}${p.message}${hint}`;
}

/** A parsed YAML document: its plain value plus a way to find the line of any path inside it. */
export interface YamlSource {
	value: unknown;
	/** Line (1-based, in the whole file) of the node at `path`, or of its nearest existing parent. */
	lineOf(path: (string | number)[]): number | undefined;
	problems: Problem[];
}

/**
 * Parse `text` as YAML. `lineOffset` is added to every line (frontmatter starts after the opening `---`).
 * Syntax errors become problems rather than exceptions.
 */
export function parseYaml(text: string, file: string, lineOffset = 0): YamlSource {
	const counter = new LineCounter();
	let doc: Document.Parsed;
	try {
		doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
	} catch (err) {
		return unreadable(file, err, 1, lineOffset, false);
	}
	const problems: Problem[] = doc.errors.map((e) => ({
		file,
		line: counter.linePos(e.pos[0]).line + lineOffset,
		message: `invalid YAML: ${e.message.split("\n")[0]}`,
		hint: "check indentation, quoting and that every key is followed by ': '",
	}));
	const line = (offset: number) => counter.linePos(offset).line + lineOffset;
	const lineOf = (path: (string | number)[]): number | undefined => {
		for (let n = path.length; n >= 0; n--) {
			// A map's field is where its key is (a block value starts on the next line).
			const parent = n === 0 ? undefined : n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
			const key = isMap(parent)
				? parent.items.find((pair) => (isScalar(pair.key) ? pair.key.value : pair.key) === path[n - 1])?.key
				: undefined;
			if (isNode(key) && key.range) return line(key.range[0]);
			const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
			if (isNode(node) && node.range) return line(node.range[0]);
		}
		return undefined;
	};
	if (problems.length > 0) return { value: undefined, lineOf, problems };
	try {
		return { value: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }), lineOf, problems };
	} catch (err) {
		// The library's guards throw: more aliases than it expands (a "billion laughs" file), nesting too deep.
		const alias = err instanceof ReferenceError ? firstAlias(doc, counter) : undefined;
		return unreadable(file, err, alias ?? 1, lineOffset, alias !== undefined);
	}
}

/** The line (in the YAML text) of the document's first alias, where an alias limit's problem points. */
function firstAlias(doc: Document.Parsed, counter: LineCounter): number | undefined {
	let offset: number | undefined;
	visit(doc, {
		Alias(_, node) {
			offset = node.range?.[0];
			return visit.BREAK;
		},
	});
	return offset === undefined ? undefined : counter.linePos(offset).line;
}

/** A file the YAML library refused by throwing: one reported problem for that file, never a crash of the command. */
function unreadable(file: string, err: unknown, line: number, lineOffset: number, aliases: boolean): YamlSource {
	const message = err instanceof Error ? err.message : String(err);
	return {
		value: undefined,
		lineOf: () => undefined,
		problems: [
			{
				file,
				line: line + lineOffset,
				message: `invalid YAML: ${aliases ? "too many aliases (*name) to expand" : message.split("\n")[0]}`,
				hint: aliases
					? `write the values out: a file may expand at most ${MAX_YAML_ALIASES} aliases`
					: "simplify the file: it is nested too deeply or too large to read",
			},
		],
	};
}
