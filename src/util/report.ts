/**
 * Where problems found in the background (a metrics exporter failing) are reported: stderr by default, a pi
 * session's notifications inside pi (where stderr would garble the screen).
 */
let reporter: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

export function setReporter(fn: (line: string) => void): void {
	reporter = fn;
}

export function report(line: string): void {
	reporter(line);
}
