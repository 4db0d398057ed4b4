// JSON from caches and archives is untrusted: JSON.parse takes any depth, but
// JSON.stringify and every recursive walk of the value overflow the stack
// (`show` of metadata nested 100,000 deep was "Maximum call stack size exceeded").

/** The deepest nesting of arrays and objects mcm reads; Triton metadata nests 3 or 4. */
export const MAX_JSON_DEPTH = 64;

/** Does JSON text nest arrays and objects deeper than `max`? One pass over the text, no parse. */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export const TOO_DEEP = `JSON nested deeper than ${MAX_JSON_DEPTH} levels`;
