// Text read from a cache (names, paths, metadata) can hold terminal escapes: an ESC or OSC
// sequence retitles or repaints the terminal, a newline forges lines. Shown escaped, never raw.

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

// C0 controls, DEL, C1 controls (0x9b is CSI to some terminals), line separators, bidi overrides
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what it escapes
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every terminal control character written as an escape: ESC as \x1b, newline as \n. */
export function safeText(s: string): string {
  return s.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`);
  });
}

/** Each line escaped, the line breaks kept: for multi-line text such as pretty-printed JSON. */
export function safeLines(s: string): string {
  return s.split("\n").map(safeText).join("\n");
}
