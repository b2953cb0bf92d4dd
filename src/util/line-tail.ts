/**
 * Reading a line-oriented file (an event log, a worker's transcript) as it grows, from any process: the byte offset
 * after the last complete line is kept, so each read costs what was appended since the previous one (nothing new: one
 * open and fstat). A partial last line is left for a later read: a live writer may be in the middle of it.
 */
import { openRead } from "./safe-fs.js";

export class LineTail {
	/** Bytes of complete lines read so far. */
	offset = 0;
	/** Bytes after the last complete line at the latest read (a line being written, or torn). */
	pending = 0;

	constructor(readonly file: string) {}

	/** The complete lines appended since the last read, in order, without their newline (empty lines included). */
	async read(): Promise<string[]> {
		const handle = await openRead(this.file);
		let buf: Buffer;
		try {
			const { size } = await handle.stat();
			if (size < this.offset)
				throw new Error(`${this.file}: the file shrank below what was read (${size} < ${this.offset} bytes)`);
			buf = Buffer.alloc(size - this.offset);
			if (buf.length > 0) await handle.read(buf, 0, buf.length, this.offset);
		} finally {
			await handle.close();
		}
		return this.feed(buf);
	}

	/** The complete lines of `buf`, the bytes that follow what was read so far (a file read elsewhere, in memory). */
	feed(buf: Buffer): string[] {
		const lines: string[] = [];
		let start = 0;
		for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
			lines.push(buf.toString("utf8", start, nl));
			start = nl + 1;
		}
		this.offset += start;
		this.pending = buf.length - start;
		return lines;
	}
}
